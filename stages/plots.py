"""Stage `plots`: the study's figures (plots/figures), tables for DVC's own plots (plots/data) and the provenance
(metrics/provenance.json); the report stage puts them into plots/report.html."""

from lesion import contract, params
from lesion.backend import machine_backend, use_backend
from lesion.report import decoding, figures, over_training
from lesion.report.provenance import provenance
from lesion.report.tables import plot_data
from lesion.files import atomic_folder
from lesion.models import study_network
from lesion.stage import run_stage
from lesion.study import load_study

OUTPUTS = [contract.FIGURES, contract.PLOT_DATA, contract.PROVENANCE]


def main():
    settings = params.load("plots")
    use_backend(machine_backend(params.load("train")))  # Keras draws the architecture figure
    welch, kl, effects, by_epoch = (contract.read_effect_table(path) for path in (
        contract.WELCH, contract.KL, contract.LESION_EFFECTS, contract.EFFECTS_BY_EPOCH))
    summary = contract.read_metrics(contract.SUMMARY)
    study = load_study()
    curves = contract.read_curves()
    decoded, decoder = contract.read_decoding(), contract.read_metrics(contract.WEIGHT_DECODING)
    record = provenance()
    drawings = {
        "specific_heatmap.png": lambda: figures.specific_heatmap(effects, study.classes, summary["alpha"]),
        "forest.png": lambda: figures.forest_figure(effects),
        "t_heatmap.png": lambda: figures.t_heatmap(welch, study.classes, summary["alpha"]),
        "kl_heatmap.png": lambda: figures.kl_heatmap(kl, study.classes),
        "loglik.png": lambda: figures.loglik_figure(study),
        "accuracy.png": lambda: figures.accuracy_figure(study),
        "confusion.png": lambda: figures.confusion_figure(study),
        "training.png": lambda: figures.training_figure(curves),
        "effect_trajectories.png": lambda: over_training.trajectories_figure(by_epoch, summary["alpha"]),
        "epoch_heatmaps.png": lambda: over_training.epoch_heatmaps(by_epoch, study.classes, summary["alpha"]),
        "weight_embedding.png": lambda: decoding.embedding_figure(decoded),
        "weight_confusion.png": lambda: decoding.confusion_figure(decoded, decoder),
        "architecture.png": lambda: figures.architecture_figure(study_network()),
    }
    if not curves:
        del drawings["training.png"]
    if not over_training.strongest(by_epoch, summary["alpha"], 1):  # no epoch evaluated, no specific effect identified
        del drawings["effect_trajectories.png"], drawings["epoch_heatmaps.png"]
    if effects.specific_t.isna().all():  # the design identifies no specific effect: no empty panels
        del drawings["specific_heatmap.png"], drawings["forest.png"]
    pngs = {name: figures.png_bytes(draw(), settings["dpi"]) for name, draw in drawings.items()}
    with atomic_folder(contract.FIGURES) as folder:  # the folder holds this run's figures, no stale one
        for name, png in pngs.items():
            (folder / name).write_bytes(png)
    plot_data(study, welch, effects)
    contract.write_provenance(record)
    print(f"wrote {len(pngs)} figures to {contract.FIGURES}, plot data to {contract.PLOT_DATA} and "
          f"{contract.PROVENANCE}")


if __name__ == "__main__":
    run_stage(main, outputs=OUTPUTS)
