"""Clean test accuracy of the study's setup in float32 and in mixed bfloat16, on a real CIFAR-10 archive.

    python benchmarks/precision_check.py ../shared/cifar-10-subset/cifar-10-python-subset.tar.gz --models 46

Trains `--models` clean copies (seeds 0..n-1) with the default params in one pack per precision and prints the
mean and spread of their test accuracy: bf16 must stay within a point of float32.
"""

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


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

    from stages.cnn import initial_weights
    from stages.download import download
    from stages.evaluator import PackEvaluator
    from stages.trainer import PackTrainer

    with tempfile.TemporaryDirectory() as scratch:
        npz = Path(scratch) / "cifar10.npz"
        download(args.archive, False, npz)
        data = dict(np.load(npz))
    seeds = np.arange(args.models)
    labels = np.repeat(data["y_train"][None], args.models, axis=0)
    for precision in ("float32", "mixed_bfloat16"):
        keras.config.set_dtype_policy(precision)
        start = time.perf_counter()
        trainer = PackTrainer(args.models, 32, 1e-3)
        weights = [np.stack(w) for w in zip(*(initial_weights(s) for s in seeds))]
        images = keras.ops.convert_to_tensor(data["x_train"])
        weights, _ = trainer.train(weights, labels, images, seeds, 0, args.epochs)
        _, accuracy, _ = PackEvaluator(args.models).evaluate(weights, data["x_test"], data["y_test"], 10)
        per_model = accuracy.mean(axis=1)
        print(f"{precision:15s} clean test accuracy {per_model.mean():.4f} +- {per_model.std():.4f} "
              f"over {args.models} models ({time.perf_counter() - start:.0f} s)", flush=True)


if __name__ == "__main__":
    main()
