"""Stage `weights`: can the lesioned pair be read from a model's weights, and from which layer on? Permutation-
invariant features of every model's layers, a cross-validated logistic-regression decoder per layer and for all
together, each against shuffled pairs (lesion.decoding) -> metrics/weight_decoding.json and
data/weights/decoding.npz (the PCA embedding and the decoder's confusion matrix, drawn by the plots stage)."""

from lesion import contract, params
from lesion.decoding.decoder import check_decodable, decode
from lesion.decoding.features import study_features
from lesion.stage import run_stage
from lesion.study import model_conditions


def main():
    settings = params.load("weights")
    manifest = contract.read_manifest()
    conditions = model_conditions(manifest)
    check_decodable(conditions, settings)
    metrics, arrays = decode(study_features(manifest), conditions, settings)
    contract.write_metrics(contract.WEIGHT_DECODING, metrics)
    contract.write_decoding(arrays)
    scores = ", ".join(f"{name} {result['accuracy']:.3f}" for name, result in metrics["feature_sets"].items())
    print(f"decoded the pair of {metrics['n_models']} swap models ({metrics['n_pairs']} pairs, chance "
          f"{metrics['chance']:.3f}): {scores}; readable from: {metrics['readable_from']}; wrote "
          f"{contract.WEIGHT_DECODING} and {contract.DECODING}")


if __name__ == "__main__":
    run_stage(main, outputs=[contract.WEIGHT_DECODING, contract.DECODING])
