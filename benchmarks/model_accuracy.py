"""Clean test accuracy and training time of each network (train.model) on a real dataset.

    python benchmarks/model_accuracy.py cifar10 ../shared/cifar-10/cifar-10-python.tar.gz --epochs 10

Downloads (or reads) the dataset as the download stage does, trains one clean model per network (seed 0, the
default train params: batch 32, Adam at 1e-3, every training image, lone-copy packs as on a CPU) and evaluates it
on the whole test set with the evaluate stage's forward pass. Writes a record of the run to benchmarks/results/.
"""

import argparse
import os
import tempfile
import time
from pathlib import Path

import record

MODELS = ("tutorial_cnn", "wide_cnn", "top_down")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dataset", help="a data.dataset name")
    parser.add_argument("url", help="the archive (or idx folder): a path, file:// or http(s) URL")
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--models", nargs="+", default=list(MODELS), choices=MODELS)
    parser.add_argument("--width", type=float, default=2.0, help="wide_cnn's train.width")
    parser.add_argument("--verify", action="store_true", help="check the official md5s (data.verify)")
    parser.add_argument("--backend", default="tensorflow")
    args = parser.parse_args()
    os.environ["KERAS_BACKEND"] = args.backend
    import keras
    import numpy as np

    from lesion.data import datasets
    from lesion.evaluation import PackEvaluator
    from lesion.model.networks import Network
    from lesion.model.trainer import PackTrainer, train_models

    with tempfile.TemporaryDirectory() as scratch:
        npz = Path(scratch) / f"{args.dataset}.npz"
        datasets.download(args.dataset, args.url, args.verify, npz)
        with np.load(npz) as stored:
            data = {key: stored[key] for key in ("x_train", "y_train", "x_test", "y_test", "class_names")}
    shape, n_classes = data["x_train"].shape[1:], len(data["class_names"])
    counts = np.bincount(data["y_test"], minlength=n_classes)
    images = keras.ops.convert_to_tensor(data["x_train"])
    results = {"dataset": args.dataset, "train_images": len(data["x_train"]), "test_images": len(data["x_test"]),
               "epochs": args.epochs, "networks": {}}
    for model in args.models:
        network = Network(model, shape, n_classes, args.width)
        start = time.perf_counter()
        weights, history = train_models(PackTrainer(network, 1, 32, 1e-3), data["y_train"][None], images,
                                        np.zeros(1, np.int64), 0, args.epochs)
        seconds = time.perf_counter() - start
        class_accuracy = PackEvaluator(network, 1).evaluate(weights, data["x_test"], data["y_test"]).accuracy
        accuracy = float(class_accuracy[0] @ counts / counts.sum())
        print(f"{network.describe()}: clean test accuracy {accuracy:.4f} after {args.epochs} epochs, trained in "
              f"{seconds:.0f} s (final training loss {history[0, -1, 0]:.3f})", flush=True)
        results["networks"][model] = {"network": network.to_dict(), "parameters": network.parameter_count,
                                      "test_accuracy": accuracy, "train_seconds": seconds,
                                      "final_train_loss": float(history[0, -1, 0])}
    record.save(__file__, args, results)


if __name__ == "__main__":
    main()
