"""Stage `report`: plots/report.html, one self-contained page (lesion.report.page): the statistics' sections, the
plots stage's figures and the visualize stage's images embedded once each, the pair view with each confusion
cell's most confident test images (data/eval/cells.npz, shown from one sprite sheet) and the table of every
effect. Opened from disk, it needs nothing else."""

from lesion import contract, params
from lesion.report.explorer import explorer_data
from lesion.report.page import write_report
from lesion.stage import run_stage
from lesion.stats.power import study_power, trials_per_pair
from lesion.study import load_study


def main():
    trial = params.load("visualize")["trial"]
    dataset = params.load("data")["dataset"]
    welch, vs_clean, effects, by_epoch = (contract.read_effect_table(path) for path in (
        contract.WELCH, contract.VS_CLEAN, contract.LESION_EFFECTS, contract.EFFECTS_BY_EPOCH))
    summary, evaluation = contract.read_metrics(contract.SUMMARY), contract.read_metrics(contract.EVAL_METRICS)
    decoder, record = contract.read_metrics(contract.WEIGHT_DECODING), contract.read_provenance()
    study = load_study()
    cells = contract.read_cells(len(study.manifest), len(study.classes))
    x_test = contract.read_dataset(dataset, "x_test")["x_test"]
    figures, gallery = contract.read_figures(), contract.read_gallery()
    tables = {"lesion": effects, "welch": welch, "vs_clean": vs_clean}
    explorer = explorer_data(study, cells, x_test, trial, tables, summary["alpha"],
                             [entry for entry in gallery if entry["model"]], figures)
    power = study_power(welch, effects, study.clean.sum(), trials_per_pair(study.manifest), summary["alpha"])
    size = write_report(welch, vs_clean, effects, summary, evaluation, figures, power, record, by_epoch, decoder,
                        study.classes, explorer, [entry for entry in gallery if not entry["model"]])
    print(f"wrote {contract.REPORT} ({size / 1e6:.1f} MB: {explorer[0]['sprite']['count']} test images, "
          f"{len(figures)} figures, {len(gallery)} gallery images)")


if __name__ == "__main__":
    run_stage(main, outputs=[contract.REPORT])
