"""Pipeline stages of the CIFAR-10 lesion study; each runs as ``python -m stages.<name>``."""
