"""How every stage runs: its outputs appear together or not at all, and every failure is one `error:` line.

A LesionError's message is written as one line where it is raised, so nothing here rewrites it; an OSError (a
full disk, a permission) is reported with its path; anything else is a bug, reported in one line too, and shown
with its traceback when LESION_DEBUG is set. On any failure the stage's outputs are removed, so no partial or
stale result is left behind.
"""

import os
import sys
from contextlib import nullcontext
from pathlib import Path

from lesion.errors import LesionError, UsageError, one_line
from lesion.files import output_transaction, remove
from lesion.usage import handle_arguments

DEBUG = "LESION_DEBUG"


def describe(error):
    """One line about a failure, saying what happened and what to do."""
    if isinstance(error, LesionError):
        return str(error)
    if isinstance(error, KeyboardInterrupt):
        return "interrupted: rerun the stage (dvc repro) to start it again"
    if isinstance(error, OSError):
        where = f" ({error.filename})" if error.filename else ""
        return f"{error.strerror or error}{where}: free space or fix permissions there, then rerun"
    return (f"unexpected {type(error).__name__}: {one_line(error)}; this is a bug, please report it "
            f"(set {DEBUG}=1 to see the traceback)")


def sweep_temporaries(outputs):
    """Remove the temporaries (`.<name>.*.tmp`) that a killed run left beside the stage's outputs."""
    for output in map(Path, outputs):
        if output.parent.is_dir():
            for stale in output.parent.glob(f".{output.name}.*.tmp"):
                remove(stale)


def answered_arguments(main):
    """True when the command line asked for --help (printed); a stray argument is one error line, and nothing
    runs or is removed."""
    stage = main.__globals__["__spec__"].name.rsplit(".", 1)[-1]
    try:
        return handle_arguments(stage, main.__globals__["__doc__"])
    except UsageError as error:
        print(f"error: {error}", file=sys.stderr)
        sys.exit(2)


def run_stage(main, outputs=(), transactional=True):
    """Run a stage's main(); on failure remove `outputs`, print one line and exit 1.

    `outputs`: the paths, or a function that names them from the params (the dataset's file). `transactional`:
    every output written through lesion.files appears at the end, together (the train stage, whose packs must
    persist one by one, opts out).
    """
    if main.__module__ == "__main__" and answered_arguments(main):
        return
    named, outputs = outputs, []
    try:
        outputs = list(named() if callable(named) else named)
        sweep_temporaries(outputs)
        with output_transaction() if transactional else nullcontext():
            main()
    except (Exception, KeyboardInterrupt) as error:
        for path in outputs:
            remove(path)
        if os.environ.get(DEBUG):
            raise
        print(f"error: {describe(error)}", file=sys.stderr)
        sys.exit(1)
