"""Stage `train`: train every model of data/labels/manifest.csv, K copies per compiled step (lesion.packs).

Writes one file per finished pack to data/models/ (`persist: true`: an interrupted run resumes, and a grown study
trains only its new models), the training curves per condition (training loss and accuracy, test accuracy) to
metrics/training through dvclive, and how the models were trained to metrics/training/run.json.
"""

from lesion import contract, params
from lesion.backend import device_name, use_backend
from lesion.stage import run_stage


def main():
    settings = params.load("train")
    use_backend(settings["backend"])
    from lesion.packs import train_all

    manifest, labels = contract.read_manifest(), contract.read_labels()
    data = contract.read_dataset("x_train", "x_test", "y_test")
    history, pack_size = train_all(settings, manifest, labels, data["x_train"], (data["x_test"], data["y_test"]))
    contract.write_curves(manifest, history)
    contract.write_train_run({"backend": settings["backend"], "device": device_name(), "precision":
                              settings["precision"], "epochs": settings["epochs"], "pack_size": pack_size})


if __name__ == "__main__":
    run_stage(main, outputs=[contract.CURVES], transactional=False)
