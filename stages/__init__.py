"""Pipeline stages of the lesion study; each runs as ``python -m stages.<name>``."""
