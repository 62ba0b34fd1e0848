"""Clean test accuracy of the study's setup in float32 and in mixed bfloat16, on a real CIFAR-10 archive.

    python benchmarks/precision_check.py ../shared/cifar-10-subset/cifar-10-python-subset.tar.gz --models 46

Trains `--models` clean copies (seeds 0..n-1) with the default params in one pack per precision and prints the
mean and spread of their test accuracy: bf16 must stay within a point of float32. Writes a record of the run to
benchmarks/results/.
"""

import argparse
import os
import tempfile
import time
from pathlib import Path

import record


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("archive")
    parser.add_argument("--models", type=int, default=46)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--backend", default="jax")
    args = parser.parse_args()
    os.environ["KERAS_BACKEND"] = args.backend
    import keras
    import numpy as np

    from lesion.data import datasets
    from lesion.evaluation import PackEvaluator
    from lesion.model.networks import Network
    from lesion.model.trainer import PackTrainer, train_models

    with tempfile.TemporaryDirectory() as scratch:
        npz = Path(scratch) / "cifar10.npz"
        datasets.download("cifar10", args.archive, False, npz)
        with np.load(npz) as stored:
            data = {key: stored[key] for key in ("x_train", "y_train", "x_test", "y_test")}
    seeds = np.arange(args.models)
    labels = np.repeat(data["y_train"][None], args.models, axis=0)
    results = {"train_images": len(data["x_train"]), "test_images": len(data["x_test"])}
    for precision in ("float32", "mixed_bfloat16"):
        keras.config.set_dtype_policy(precision)
        start = time.perf_counter()
        trainer = PackTrainer(Network(), args.models, 32, 1e-3)
        images = keras.ops.convert_to_tensor(data["x_train"])
        weights, _ = train_models(trainer, labels, images, seeds, 0, args.epochs)
        accuracy = PackEvaluator(Network(), args.models).evaluate(weights, data["x_test"], data["y_test"]).accuracy
        per_model = accuracy.mean(axis=1)
        seconds = time.perf_counter() - start
        print(f"{precision:15s} clean test accuracy {per_model.mean():.4f} +- {per_model.std():.4f} "
              f"over {args.models} models ({seconds:.0f} s)", flush=True)
        results[precision] = {"models": args.models, "mean_accuracy": float(per_model.mean()),
                              "sd_accuracy": float(per_model.std()), "seconds": seconds}
    results["bf16_minus_float32"] = results["mixed_bfloat16"]["mean_accuracy"] - results["float32"]["mean_accuracy"]
    record.save(__file__, args, results)


if __name__ == "__main__":
    main()
