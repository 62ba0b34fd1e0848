"""Stage `train`: train every model of data/labels/manifest.csv, K copies per compiled step (lesion.packs).

Writes one file per finished pack to data/models/ (`persist: true`, so an interrupted run resumes) and the
training curves per condition to metrics/training through dvclive.
"""

from lesion import contract, params
from lesion.backend import use_backend
from lesion.stage import run_stage


def main():
    settings = params.load("train")
    use_backend(settings["backend"])
    from lesion.packs import train_all

    manifest, labels = contract.read_manifest(), contract.read_labels()
    x_train = contract.read_dataset("x_train")["x_train"]
    history = train_all(settings, manifest, labels, x_train)
    contract.write_curves(manifest, history)


if __name__ == "__main__":
    run_stage(main, outputs=[contract.CURVES], transactional=False)
