"""Stage `plots`: the study's figures (plots/figures), tables for DVC's own plots (plots/data) and the
self-contained report (plots/report.html), which also embeds the visualize stage's images when they exist."""

from lesion import contract, params
from lesion.report import figures
from lesion.report.page import write_report
from lesion.report.tables import plot_data
from lesion.files import atomic_folder
from lesion.stage import run_stage
from lesion.study import load_study

OUTPUTS = [contract.FIGURES, contract.PLOT_DATA, contract.REPORT]


def main():
    settings = params.load("plots")
    welch, kl, vs_clean, effects = (contract.read_effect_table(path) for path in (
        contract.WELCH, contract.KL, contract.VS_CLEAN, contract.LESION_EFFECTS))
    summary, evaluation = contract.read_metrics(contract.SUMMARY), contract.read_metrics(contract.EVAL_METRICS)
    study = load_study()
    curves = contract.read_curves()
    drawings = {
        "specific_heatmap.png": lambda: figures.specific_heatmap(effects, study.classes, summary["alpha"]),
        "forest.png": lambda: figures.forest_figure(effects),
        "t_heatmap.png": lambda: figures.t_heatmap(welch, study.classes, summary["alpha"]),
        "kl_heatmap.png": lambda: figures.kl_heatmap(kl, study.classes),
        "loglik.png": lambda: figures.loglik_figure(study),
        "accuracy.png": lambda: figures.accuracy_figure(study),
        "training.png": lambda: figures.training_figure(curves),
        "architecture.png": figures.architecture_figure,
    }
    if not curves:
        del drawings["training.png"]
    pngs = {name: figures.png_bytes(draw(), settings["dpi"]) for name, draw in drawings.items()}
    with atomic_folder(contract.FIGURES) as folder:  # the folder holds this run's figures, no stale one
        for name, png in pngs.items():
            (folder / name).write_bytes(png)
    plot_data(study, welch, effects)
    write_report(welch, vs_clean, effects, summary, evaluation, pngs)
    print(f"wrote {len(pngs)} figures to {contract.FIGURES}, plot data to {contract.PLOT_DATA} and "
          f"{contract.REPORT}")


if __name__ == "__main__":
    run_stage(main, outputs=OUTPUTS)
