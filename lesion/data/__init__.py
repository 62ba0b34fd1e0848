"""The study's data: the dataset archive (`cifar10`) and the corrupted label sets (`labels`)."""
