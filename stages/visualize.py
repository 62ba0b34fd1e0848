"""Stage `visualize`: what mistrained networks see, next to a clean one (lesion.featvis.gallery) -> plots/vis.

It reads only the shown models (data/vis/models.npz, the vis_models stage's) and the dataset, so DVC reruns it
only when those models, the dataset, its code or its params change. The folder is built aside and renamed onto
plots/vis, so a failed run leaves no output.
"""

from lesion import contract, params
from lesion.backend import device_name, start_backend
from lesion.files import atomic_folder
from lesion.stage import run_stage


def main():
    settings = params.load("visualize")
    backend = start_backend(params.load("train"))
    labels, weights, network = contract.read_vis_models()
    data = contract.read_dataset(params.load("data")["dataset"], "x_test", "y_test", "class_names")
    from lesion.featvis.gallery import draw_gallery

    print(f"visualizing {len(labels)} models on {backend}, {device_name()}: " + ", ".join(labels), flush=True)
    with atomic_folder(contract.VIS) as folder:
        draw_gallery(network, weights, labels, data, settings, folder)


if __name__ == "__main__":
    run_stage(main, outputs=[contract.VIS])
