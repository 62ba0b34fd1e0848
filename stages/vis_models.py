"""Stage `vis_models`: the models the gallery shows (lesion.featvis.selection) -> data/vis/models.npz.

Only their labels and weights are written, byte-reproducibly and without model ids, so adding trials or changing
the corrupt params leaves the file's bytes, and so the visualize stage, untouched unless the shown models change.
"""

from lesion import contract, params
from lesion.featvis.selection import select_models
from lesion.stage import run_stage


def main():
    settings = params.load("visualize")
    manifest = contract.read_manifest()
    ids, labels = select_models(manifest, settings)
    contract.check_packs(manifest)
    _, weights, network = contract.read_weights(ids)
    contract.write_vis_models(labels, weights, network)
    print(f"wrote {contract.VIS_MODELS}: " + ", ".join(f"{label} (model {i})" for i, label in zip(ids, labels)))


if __name__ == "__main__":
    run_stage(main, outputs=[contract.VIS_MODELS])
