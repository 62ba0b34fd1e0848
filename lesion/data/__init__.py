"""The study's data: the datasets the download stage knows (`datasets`: each one's official source, and the one
download path through `sources`, the shared fetch and verify, and a format reader, `cifar` or `idx`) and the
corrupted label sets (`labels`)."""
