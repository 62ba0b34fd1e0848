"""Time of the weights stage's analysis at a study's scale, on synthetic weights.

    python benchmarks/weights_decoding.py --pairs 45 --trials 50 --clean-trials 50

Builds each model's weights from its seeded starting point (lesion.model.networks.Network.initial_weights) with
its pair's two
classes' output weights shrunk (a planted lesion, so the decoders have something to find), then times what the
weights stage does: the permutation-invariant features and the decoders (default weights params: 5 folds, 19
shuffles). Writes a record to benchmarks/results/.
"""

import argparse
import itertools
import time

import record


def lesioned_weights(pairs, trials, clean_trials):
    """(conditions, stacked weights) of clean_trials clean models and `trials` models of each of `pairs` pairs."""
    import numpy as np

    from lesion.model.networks import Network

    classes = list(itertools.combinations(range(10), 2))[:pairs]
    conditions = ["clean"] * clean_trials + [f"{a}/{b}" for a, b in classes for _ in range(trials)]
    weights = Network().initial_pack_weights(range(len(conditions)))
    for model, (a, b) in enumerate(np.repeat(classes, trials, axis=0), start=clean_trials):
        weights[8][model, :, [a, b]] *= 0.8
    return conditions, weights


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=45)
    parser.add_argument("--trials", type=int, default=50)
    parser.add_argument("--clean-trials", type=int, default=50)
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--permutations", type=int, default=19)
    args = parser.parse_args()
    if not 2 <= args.pairs <= 45:
        parser.error("--pairs must be between 2 and 45, the unordered pairs of 10 classes")
    from lesion.decoding.decoder import decode
    from lesion.decoding.features import layer_features
    from lesion.model.networks import Network

    conditions, weights = lesioned_weights(args.pairs, args.trials, args.clean_trials)
    start = time.perf_counter()
    features = layer_features(weights, Network().kernel_layers)
    features_s = time.perf_counter() - start
    start = time.perf_counter()
    metrics, _ = decode(features, conditions, {"folds": args.folds, "permutations": args.permutations, "seed": 0})
    decode_s = time.perf_counter() - start
    accuracies = {name: round(result["accuracy"], 4) for name, result in metrics["feature_sets"].items()}
    print(f"{len(conditions)} models: features {features_s:.1f} s, decoders {decode_s:.1f} s; accuracy {accuracies}, "
          f"chance {metrics['chance']:.4f}, readable from {metrics['readable_from']}", flush=True)
    record.save(__file__, args, {"models": len(conditions), "features_s": features_s, "decode_s": decode_s,
                                 "accuracy": accuracies, "chance": metrics["chance"],
                                 "readable_from": metrics["readable_from"]})


if __name__ == "__main__":
    main()
