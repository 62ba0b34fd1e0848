"""Stage `corrupt`: one label set per model (lesion.data.labels) -> data/labels/manifest.csv and labels.npz."""

from lesion import contract, params
from lesion.data.labels import build, parse_pairs
from lesion.stage import run_stage


def main():
    settings = params.load("corrupt")
    data = contract.read_dataset(params.load("data")["dataset"], "y_train", "class_names")
    pairs = parse_pairs(settings["pairs"], data["class_names"], settings["seed"], settings["classes"])
    manifest, labels = build(data["y_train"], data["class_names"], settings, pairs)
    contract.write_labels(manifest, labels)
    print(f"wrote {len(manifest)} label sets ({len(pairs)} pairs) to {contract.LABELS_DIR}")


if __name__ == "__main__":
    run_stage(main, outputs=[contract.LABELS_DIR])
