"""Stage `visualize`: what mistrained networks see, next to a clean one (lesion.featvis.gallery) -> plots/vis.

The folder is built aside and renamed onto plots/vis, so a failed run leaves no output.
"""

from lesion import contract, params
from lesion.backend import use_backend
from lesion.featvis.selection import select_models
from lesion.files import atomic_folder
from lesion.stage import run_stage


def main():
    settings = params.load("visualize")
    use_backend(params.load("train")["backend"])
    manifest = contract.read_manifest()
    contract.check_packs(manifest)
    ids, labels = select_models(manifest, settings)
    ids, weights = contract.read_weights(ids)
    data = contract.read_dataset(*contract.DATASET_ARRAYS)
    from lesion.featvis.gallery import draw_gallery

    print(f"visualizing {len(ids)} models: " + ", ".join(f"{label} (model {i})" for i, label in zip(ids, labels)))
    with atomic_folder(contract.VIS) as folder:
        draw_gallery(weights, labels, data, settings, folder)


if __name__ == "__main__":
    run_stage(main, outputs=[contract.VIS])
