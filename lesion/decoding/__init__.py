"""Reading the lesion from the weights: permutation-invariant features of each trained model (features.py) and
cross-validated decoders of the swapped pair from them (decoder.py)."""
