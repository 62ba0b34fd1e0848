"""Stage `train`: train every model of data/labels/manifest.csv, K copies per compiled step (lesion.packs), on this
machine's devices or as Ray tasks (`train.executor`, lesion.executors).

Writes one file per finished pack to data/models/ (`persist: true`: an interrupted run resumes, and a grown study
trains only its new models; each also holds its models' per-class test results after the epochs train.eval_every
names), the training curves per condition (training loss and accuracy, test accuracy) to metrics/training through
dvclive, and how the models were trained to metrics/training/run.json.
"""

from lesion import contract, params
from lesion.executors import start_executor
from lesion.stage import run_stage


def main():
    executor = start_executor(params.load("train"))
    from lesion.packs import train_all

    from lesion.model.networks import network_for

    manifest, labels = contract.read_manifest(), contract.read_labels()
    data = contract.read_dataset(params.load("data")["dataset"], "x_train", "y_train", "x_test", "y_test",
                                 "class_names")
    network = network_for(executor.params, data["x_train"].shape[1:], len(data["class_names"]))
    history, pack_size = train_all(executor, manifest, labels, network, data["x_train"], data["y_train"],
                                   (data["x_test"], data["y_test"]))
    contract.write_curves(manifest, history)
    settings = executor.params
    contract.write_train_run({"backend": settings["backend"], "device": executor.device, "precision":
                              settings["precision"], "epochs": settings["epochs"], "pack_size": pack_size,
                              "executor": settings["executor"], "network": network.to_dict()})


if __name__ == "__main__":
    run_stage(main, outputs=[contract.CURVES], transactional=False)
