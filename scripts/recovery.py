"""Mistrain, then recover: one table and one figure across the project's DVC experiments that differ in
train.schedule (lesion.recovery).

    python scripts/recovery.py [--out results/recovery]

Run it in the project after running some schedules, for example

    dvc exp run --queue -S train.schedule.corrupt_until=2
    dvc exp run --queue -S train.schedule.corrupt_until=4
    dvc exp run --queue -S train.schedule.corrupt_until=6
    dvc queue start

It writes <out>/recovery.csv (one row per run: its schedule, accuracies and the strongest specific effects) and
<out>/recovery.png (the runs that corrupt from epoch 0, against the epoch at which their labels were corrected):
both or neither, the same bytes for the same experiments. A problem is one `error:` line and exit code 1.
"""

import argparse
import os
import sys
from pathlib import Path

from lesion import contract
from lesion.errors import UsageError
from lesion.files import atomic_path, output_transaction, save_csv
from lesion import recovery
from lesion.report.figures import png_bytes
from lesion.stage import DEBUG, describe

DPI = 110  # params.yaml's default plots.dpi: the report figures' resolution


class Parser(argparse.ArgumentParser):
    """argparse whose complaint about an argument is a UsageError, printed as one `error:` line like the rest."""

    def error(self, message):
        raise UsageError(f"{message} (usage: python scripts/recovery.py [--out DIR])")


def parse_args():
    parser = Parser(description=" ".join(__doc__.split("\n\n")[0].split()))
    parser.add_argument("--out", type=Path, default=Path("results/recovery"), metavar="DIR",
                        help="folder of recovery.png and recovery.csv (default: results/recovery)")
    return parser.parse_args()


def main():
    out = parse_args().out
    runs, skipped = recovery.collect_runs()
    recovery.require_recovery(runs, skipped)  # its error names the skipped runs
    for note in skipped:
        print(f"skipped {note}")
    effects = recovery.strongest_effects(runs)
    table = recovery.recovery_table(runs, effects)
    png = png_bytes(recovery.recovery_figure(table, effects), DPI)
    with output_transaction():
        save_csv(out / "recovery.csv", table, contract.SIX_DIGITS)
        with atomic_path(out / "recovery.png") as tmp:
            tmp.write_bytes(png)
    shown = len(recovery.recovering(runs))
    print(f"wrote {out / 'recovery.csv'} ({len(runs)} runs) and {out / 'recovery.png'} ({shown} runs that corrupt "
          f"from epoch 0, {len(effects)} effects)")


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        print("error: interrupted, nothing written", file=sys.stderr)
        sys.exit(1)
    except Exception as error:
        if os.environ.get(DEBUG):
            raise
        print(f"error: {describe(error)}", file=sys.stderr)
        sys.exit(1)
