"""Stage `evaluate`: every model on every test image (lesion.evaluation), on this machine's devices or as Ray
tasks (`train.executor`) -> data/eval/per_class.csv, data/eval/confusion.npz, data/eval/cells.npz (each
confusion cell's count and evaluate.top_images most confident test images) and metrics/eval.json; and
data/eval/per_class_epochs.csv, the same per-class results after each epoch the train stage evaluated (read from
the packs: no weights of earlier epochs are kept)."""

import json

from lesion import contract, params
from lesion.executors import executor_line, start_executor
from lesion.stage import run_stage


def main():
    # Evaluation computes in float32 whatever train.precision, so its numbers never depend on that param.
    executor = start_executor(dict(params.load("train"), precision="float32"))
    manifest = contract.read_manifest()
    contract.check_packs(manifest)  # a model in no pack would otherwise read as a perfect score of 0 bits
    data = contract.read_dataset(params.load("data")["dataset"], "x_test", "y_test", "class_names")
    from lesion.evaluation import accuracy_metrics, evaluate_study

    print(f"evaluating {len(manifest)} models on {executor_line(executor)}", flush=True)
    per_class, mean_prob, cells, per_class_epochs = evaluate_study(
        executor, len(manifest), data["x_test"], data["y_test"], data["class_names"],
        params.load("evaluate")["top_images"])
    contract.write_evaluation(per_class, mean_prob, cells, per_class_epochs)
    metrics = accuracy_metrics(manifest, per_class)
    contract.write_metrics(contract.EVAL_METRICS, metrics)
    print(json.dumps(metrics))


if __name__ == "__main__":
    run_stage(main, outputs=[contract.EVAL_DIR, contract.EVAL_METRICS])
