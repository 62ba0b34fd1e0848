"""The lesion-study library: everything the seven DVC stages in `stages/` call.

- `params`: the schema of params.yaml and its one check; `contract`: every artifact's path, schema, reader and
  writer; `files`: atomic, byte-reproducible writes; `errors` and `stage`: one error rule for every stage.
- `data`: the dataset download and the corrupted label sets.
- `model`: exactly the code trained weights depend on (architecture, packed layers, Adam, trainer, autodiff,
  pack sizing); its files are hashed into every pack's fingerprint.
- `packs`: trained packs on disk (plan, resume, background writes); `evaluation`: models on the test set.
- `study` and `stats`: the statistics; `report`: figures and the HTML report; `featvis`: feature visualization.
"""
