"""Time the training core on synthetic data: one model at a time against packed training, in one run.

    python benchmarks/train_speed.py --backend jax --pack-size 1024 --precision mixed_bfloat16

Prints models per second, seconds per model-epoch (one pass over 50,000 images at the study's batch size)
and the packed/sequential ratio. One model at a time is timed twice: through the product's trainer with a pack
of one, and the textbook way (`model.fit` on host arrays). Steps are timed after a warm-up that compiles the
step, with the device's queue drained before and after.
"""

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

STUDY_IMAGES, STUDY_EPOCHS, STUDY_MODELS = 50_000, 10, 2_300


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", default="jax", choices=["tensorflow", "jax", "torch"])
    parser.add_argument("--pack-size", default="auto", help="copies per packed step, or 'auto'")
    parser.add_argument("--precision", default="float32", choices=["float32", "mixed_bfloat16"])
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--steps", type=int, default=50, help="timed steps per configuration")
    parser.add_argument("--skip-sequential", action="store_true")
    return parser.parse_args()


def seconds_per_step(copies, args, images):
    """Wall seconds of one training step of a pack of `copies`, after compilation."""
    import numpy as np

    from stages.cnn import initial_weights
    from stages.trainer import PackTrainer

    trainer = PackTrainer(copies, args.batch_size, 1e-3)
    weights = [np.stack(w) for w in zip(*(initial_weights(s) for s in range(copies)))]
    n = args.batch_size * (args.steps + 1)
    labels = np.random.default_rng(1).integers(0, 10, (copies, n)).astype(np.uint8)
    seeds = np.arange(copies)
    trainer.train(weights, labels, images, seeds, 0, 1)  # compiles the step
    start = time.perf_counter()
    trainer.train(weights, labels, images, seeds, 0, 1)  # reads results back at the end: includes the drain
    elapsed = (time.perf_counter() - start) / (n // args.batch_size)
    if args.backend == "jax":
        import jax

        stats = jax.devices()[0].memory_stats() or {}
        print(f"    peak device memory {stats.get('peak_bytes_in_use', 0) / 2**30:.1f} GiB")
    return elapsed


def keras_fit_seconds_per_step(args, pixels):
    """Wall seconds of one step of a single model trained the textbook way, `model.fit` on host arrays."""
    import keras
    import numpy as np

    from stages.cnn import build_cnn

    n = args.batch_size * args.steps
    x = pixels[:n].astype("float32") / 255
    y = np.random.default_rng(1).integers(0, 10, n)
    model = build_cnn()
    model.compile(keras.optimizers.Adam(1e-3), keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    model.fit(x, y, batch_size=args.batch_size, epochs=1, verbose=0)  # compiles the step
    start = time.perf_counter()
    model.fit(x, y, batch_size=args.batch_size, epochs=1, verbose=0)
    return (time.perf_counter() - start) / args.steps


def evaluation_seconds(copies):
    """Wall seconds to evaluate a pack of `copies` models on 10,000 test images (after compilation)."""
    import numpy as np

    from stages.cnn import initial_weights
    from stages.evaluator import PackEvaluator

    weights = [np.stack(w) for w in zip(*(initial_weights(s) for s in range(copies)))]
    rng = np.random.default_rng(2)
    x_test, y_test = rng.integers(0, 256, (10_000, 32, 32, 3), dtype=np.uint8), rng.integers(0, 10, 10_000)
    evaluator = PackEvaluator(copies)
    evaluator.evaluate(weights, x_test, y_test, 10)
    start = time.perf_counter()
    evaluator.evaluate(weights, x_test, y_test, 10)
    return time.perf_counter() - start


def report(name, copies, step_s, batch_size):
    model_epoch_s = step_s / copies * (STUDY_IMAGES // batch_size)
    models_per_s = 1 / (model_epoch_s * STUDY_EPOCHS)
    print(f"{name:>10}: K={copies:5d}  {step_s * 1e3:8.2f} ms/step  {model_epoch_s:8.4f} s/model-epoch  "
          f"{models_per_s:8.3f} models/s (10 epochs)  study of {STUDY_MODELS} models: "
          f"{STUDY_MODELS / models_per_s / 60:7.1f} min", flush=True)
    return models_per_s


def main():
    args = parse_args()
    os.environ["KERAS_BACKEND"] = args.backend
    import keras
    import numpy as np

    from stages.device import accelerator_pack_size

    keras.config.set_dtype_policy(args.precision)
    copies = accelerator_pack_size() or 1 if args.pack_size == "auto" else int(args.pack_size)
    print(f"backend {args.backend}, pack size {copies}, precision {args.precision}, batch {args.batch_size}")
    pixels = np.random.default_rng(0).integers(0, 256, (STUDY_IMAGES, 32, 32, 3), dtype=np.uint8)
    images = keras.ops.convert_to_tensor(pixels)
    packed = report("packed", copies, seconds_per_step(copies, args, images), args.batch_size)
    evaluate_s = evaluation_seconds(copies)
    print(f"  evaluate: {evaluate_s:.1f} s for {copies} models on 10,000 test images "
          f"({evaluate_s * STUDY_MODELS / copies:.0f} s for the study)", flush=True)
    if not args.skip_sequential:
        sequential = report("sequential", 1, seconds_per_step(1, args, images), args.batch_size)
        fit = report("keras fit", 1, keras_fit_seconds_per_step(args, pixels), args.batch_size)
        print(f"packed / sequential: {packed / sequential:.1f}x   packed / keras fit: {packed / fit:.1f}x")


if __name__ == "__main__":
    main()
