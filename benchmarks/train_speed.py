"""Time the training core on synthetic data: one model at a time against packed training, in one run.

    python benchmarks/train_speed.py --backend jax --pack-size 1024 --precision mixed_bfloat16

Prints models per second, seconds per model-epoch (one pass over 50,000 images at the study's batch size)
and the packed/sequential ratio. One model at a time is timed twice: through the product's trainer with a pack
of one, and the textbook way (`model.fit` on host arrays). Steps are timed after a warm-up that compiles the
step, with the device's queue drained before and after. Writes a record of the run to benchmarks/results/.
"""

import argparse
import os
import time

import record

STUDY_IMAGES, STUDY_EPOCHS, STUDY_MODELS = 50_000, 10, 2_300


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", default="jax", choices=["tensorflow", "jax", "torch"])
    parser.add_argument("--pack-size", default="auto", help="copies per packed step, or 'auto'")
    parser.add_argument("--precision", default="float32", choices=["float32", "mixed_bfloat16"])
    parser.add_argument("--pallas", action="store_true",
                        help="also time the pack with train.kernels: pallas (JAX), side by side with xla")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--steps", type=int, default=50, help="timed steps per configuration")
    parser.add_argument("--skip-sequential", action="store_true")
    return parser.parse_args()


def seconds_per_step(copies, args, images, measured, kernels="xla"):
    """Wall seconds of one training step of a pack of `copies`, after compilation."""
    import numpy as np

    from lesion.model.networks import Network
    from lesion.model.trainer import PackTrainer

    trainer = PackTrainer(Network(), copies, args.batch_size, 1e-3, kernels)
    weights = Network().initial_pack_weights(range(copies))
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
        if "peak_bytes_in_use" in stats:
            measured["peak_device_memory_gib"] = stats["peak_bytes_in_use"] / 2**30
    return elapsed


def keras_fit_seconds_per_step(args, pixels):
    """Wall seconds of one step of a single model trained the textbook way, `model.fit` on host arrays."""
    import keras
    import numpy as np

    from lesion.model.networks import Network

    n = args.batch_size * args.steps
    x = pixels[:n].astype("float32") / 255
    y = np.random.default_rng(1).integers(0, 10, n)
    model = Network().plain()
    model.compile(keras.optimizers.Adam(1e-3), keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    model.fit(x, y, batch_size=args.batch_size, epochs=1, verbose=0)  # compiles the step
    start = time.perf_counter()
    model.fit(x, y, batch_size=args.batch_size, epochs=1, verbose=0)
    return (time.perf_counter() - start) / args.steps


def evaluation_seconds(copies):
    """Wall seconds to evaluate a pack of `copies` models on 10,000 test images (after compilation)."""
    import numpy as np

    from lesion.evaluation import PackEvaluator
    from lesion.model.networks import Network

    weights = Network().initial_pack_weights(range(copies))
    rng = np.random.default_rng(2)
    x_test, y_test = rng.integers(0, 256, (10_000, 32, 32, 3), dtype=np.uint8), rng.integers(0, 10, 10_000)
    evaluator = PackEvaluator(Network(), copies)
    evaluator.evaluate(weights, x_test, y_test)
    start = time.perf_counter()
    evaluator.evaluate(weights, x_test, y_test)
    return time.perf_counter() - start


def report(name, copies, step_s, batch_size, measured):
    """Print one configuration's line, store its numbers in `measured` and return its models per second."""
    model_epoch_s = step_s / copies * (STUDY_IMAGES // batch_size)
    models_per_s = 1 / (model_epoch_s * STUDY_EPOCHS)
    study_min = STUDY_MODELS / models_per_s / 60
    print(f"{name:>10}: K={copies:5d}  {step_s * 1e3:8.2f} ms/step  {model_epoch_s:8.4f} s/model-epoch  "
          f"{models_per_s:8.3f} models/s (10 epochs)  study of {STUDY_MODELS} models: "
          f"{study_min:7.1f} min", flush=True)
    measured.update(copies=copies, ms_per_step=step_s * 1e3, ms_per_model_step=step_s * 1e3 / copies,
                    s_per_model_epoch=model_epoch_s, models_per_s=models_per_s, study_training_min=study_min)
    return models_per_s


def main():
    args = parse_args()
    os.environ["KERAS_BACKEND"] = args.backend
    import keras
    import numpy as np

    from lesion.backend import visible_gpus
    from lesion.bench import Bench
    from lesion.model.networks import Network

    keras.config.set_dtype_policy(args.precision)
    pixels = np.random.default_rng(0).integers(0, 256, (STUDY_IMAGES, 32, 32, 3), dtype=np.uint8)
    if args.pack_size != "auto":
        copies = int(args.pack_size)
    else:  # what the train stage's pack_size: auto measures: probe steps on the GPU, one model on a CPU
        settings = {"batch_size": args.batch_size, "learning_rate": 1e-3, "kernels": "xla"}
        copies = Bench(settings).capacity(Network(), pixels) if visible_gpus() else 1
    print(f"backend {args.backend}, pack size {copies}, precision {args.precision}, batch {args.batch_size}")
    images = keras.ops.convert_to_tensor(pixels)
    # Per configuration: ms per step (of the whole pack) and per model-step, s per model-epoch, models/s and
    # the projected training time of the default study, in minutes.
    results = {"study": {"images": STUDY_IMAGES, "epochs": STUDY_EPOCHS, "models": STUDY_MODELS},
               "packed": {}}
    packed = report("packed", copies, seconds_per_step(copies, args, images, results["packed"]), args.batch_size,
                    results["packed"])
    if args.pallas:  # the same pack through the fused kernels, in the same run
        results["packed_pallas"] = {}
        pallas = report("pallas", copies, seconds_per_step(copies, args, images, results["packed_pallas"], "pallas"),
                        args.batch_size, results["packed_pallas"])
        print(f"pallas / xla: {pallas / packed:.2f}x")
        results["pallas_over_xla"] = pallas / packed
    evaluate_s = evaluation_seconds(copies)
    print(f"  evaluate: {evaluate_s:.1f} s for {copies} models on 10,000 test images "
          f"({evaluate_s * STUDY_MODELS / copies:.0f} s for the study)", flush=True)
    results["evaluate"] = {"copies": copies, "test_images": 10_000, "s_per_pack": evaluate_s,
                           "study_s": evaluate_s * STUDY_MODELS / copies}
    if not args.skip_sequential:
        results["sequential"], results["keras_fit"] = {}, {}
        sequential = report("sequential", 1, seconds_per_step(1, args, images, results["sequential"]),
                            args.batch_size, results["sequential"])
        fit = report("keras fit", 1, keras_fit_seconds_per_step(args, pixels), args.batch_size, results["keras_fit"])
        print(f"packed / sequential: {packed / sequential:.1f}x   packed / keras fit: {packed / fit:.1f}x")
        results["ratios"] = {"packed_over_sequential": packed / sequential, "packed_over_keras_fit": packed / fit}
    record.save(__file__, args, results)


if __name__ == "__main__":
    main()
