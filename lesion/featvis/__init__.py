"""Feature visualization by optimization in input space, for packs of models at once (tf-keras-vis style).

Small pluggable pieces: image parameterizations (`images`), scores (`scores`), regularizers (`regularizers`) and
input modifiers (`modifiers`), put together by `maximization.ActivationMaximization` over a `net.PackedNet`;
`selection` and `gallery` turn them into the visualize stage's PNGs.
"""
