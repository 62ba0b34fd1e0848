"""The lesion-study library: everything the seven DVC stages in `stages/` call.

- `params`: the schema of params.yaml and its one check; `contract`: every artifact's path, schema, reader and
  writer; `files`: atomic, byte-reproducible writes; `errors` and `stage`: one error rule for every stage.
- `data`: the dataset download and the corrupted label sets.
- `model`: exactly the code trained weights depend on (architecture, packed layers, Adam, trainer, autodiff,
  pack sizing); its files are hashed into every model's key.
- `packs`: trained packs on disk (reuse by key, resume, background writes); `models.load_model`: one trained model
  as a plain Keras model; `evaluation`: models on the test set.
- `study` and `stats`: the statistics; `report`: figures and the HTML report; `featvis`: feature visualization.
"""

from lesion.models import load_model  # noqa: E402  (the notebook entry point: lesion.load_model)
