"""Profile the packed training step on a GPU (JAX backend): GPU time per kernel, summed over a few steps.

    python benchmarks/profile_step.py --copies 2300 --precision mixed_bfloat16 --trace-dir /tmp/trace

Prints the kernels that take the most GPU time per step; the raw trace stays in --trace-dir for TensorBoard.
Writes a record of the run (ms per step of each line kind and of its top entries) to benchmarks/results/.
"""

import argparse
import collections
import glob
import os

os.environ.setdefault("KERAS_BACKEND", "jax")

import record  # noqa: E402


def gpu_times(trace_dir):
    """{line kind: {event name: total ns}} of the GPU planes of the newest .xplane.pb under trace_dir.

    Line kinds: 'XLA Ops' (HLO fusions, the names to look for in the step's HLO) and 'Stream' (CUDA kernels).
    """
    from jax.profiler import ProfileData

    path = sorted(glob.glob(f"{trace_dir}/**/*.xplane.pb", recursive=True))[-1]
    totals, details = collections.defaultdict(collections.Counter), {}
    for plane in ProfileData.from_file(path).planes:
        if not plane.name.startswith("/device:GPU"):
            continue
        for line in plane.lines:
            kind = "Stream" if line.name.startswith("Stream") else line.name
            for event in line.events:
                totals[kind][event.name] += event.duration_ns
                if event.name not in details:
                    stats = dict(event.stats)
                    details[event.name] = str(stats.get("long_name") or stats.get("hlo_op") or "")
    return totals, details


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--copies", type=int, default=2300)
    parser.add_argument("--precision", default="mixed_bfloat16")
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--trace-dir", default="/tmp/trace")
    parser.add_argument("--top", type=int, default=25)
    args = parser.parse_args()
    import jax
    import keras
    import numpy as np

    from lesion.model.networks import Network
    from lesion.model.trainer import PackTrainer

    keras.config.set_dtype_policy(args.precision)
    k, batch = args.copies, 32
    trainer = PackTrainer(Network(), k, batch, 1e-3)
    weights = Network().initial_pack_weights(range(k))
    n = batch * args.steps
    labels = np.random.default_rng(1).integers(0, 10, (k, n)).astype(np.uint8)
    images = keras.ops.convert_to_tensor(np.random.default_rng(0).integers(0, 256, (n, 32, 32, 3), dtype=np.uint8))
    trainer.train(weights, labels, images, np.arange(k), 0, 1)  # compile
    with jax.profiler.trace(args.trace_dir):
        trainer.train(weights, labels, images, np.arange(k), 0, 1)
    times, details = gpu_times(args.trace_dir)
    results = {}
    for kind, totals in times.items():
        step_ms = sum(totals.values()) / 1e6 / args.steps
        print(f"== {kind}: {step_ms:.2f} ms per step over {args.steps} steps; top entries (ms per step):")
        top = []
        for name, ns in totals.most_common(args.top):
            print(f"{ns / 1e6 / args.steps:8.3f}  {name[:90]}  {details[name][:200]}")
            top.append({"name": name, "ms_per_step": ns / 1e6 / args.steps, "detail": details[name][:200]})
        results[kind] = {"ms_per_step": step_ms, "top": top}
    if not results:
        raise SystemExit(f"no GPU plane in the trace under {args.trace_dir}: nothing measured, no record written")
    record.save(__file__, args, results)


if __name__ == "__main__":
    main()
