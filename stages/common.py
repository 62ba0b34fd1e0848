"""Small helpers every stage shares: params, atomic deterministic output, one-line errors."""

import io
import os
import sys
import tempfile
import zipfile
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import yaml

PARAMS_FILE = "params.yaml"


class StageError(Exception):
    """A problem the user can fix; reported as one line, exit status 1."""


def load_params(section):
    """Return one section of params.yaml (the file `dvc exp run -S` edits)."""
    with open(PARAMS_FILE) as f:
        params = yaml.safe_load(f) or {}
    if section not in params:
        raise StageError(f"{PARAMS_FILE} has no '{section}' section: restore it from the repository")
    return params[section]


def require(path, stage):
    """Fail with one line naming a missing input and the stage that makes it."""
    if not Path(path).exists():
        raise StageError(f"{path} is missing: run the earlier stages first (dvc repro {stage})")


BACKENDS = ("tensorflow", "jax", "torch")


def use_backend(name):
    """Select the Keras backend; must run before anything imports keras."""
    if name not in BACKENDS:
        raise StageError(f"train.backend must be one of {', '.join(BACKENDS)}, got {name!r}")
    loaded = sys.modules.get("keras")
    if loaded is not None and loaded.backend.backend() != name:
        raise StageError(f"keras is already loaded with the {loaded.backend.backend()} backend, not {name}")
    os.environ["KERAS_BACKEND"] = name
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def run_stage(main, outputs=()):
    """Run a stage's main(); on StageError print one line, remove `outputs`, exit 1.

    Removing outputs on failure keeps the promise that a failed stage leaves nothing behind.
    """
    try:
        main()
    except (StageError, KeyboardInterrupt) as error:
        for path in outputs:
            remove(path)
        message = " ".join(str(error).split()) or "interrupted"
        print(f"error: {message}", file=sys.stderr)
        sys.exit(1)


def remove(path):
    """Delete a file or a directory tree if present."""
    path = Path(path)
    if path.is_dir():
        for child in path.iterdir():
            remove(child)
        path.rmdir()
    elif path.exists() or path.is_symlink():
        path.unlink()


@contextmanager
def atomic_path(path):
    """Yield a temporary path beside `path`; rename it onto `path` only if the block succeeds."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    ordinary_mode(tmp, 0o666)
    try:
        yield Path(tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


@contextmanager
def atomic_folder(path):
    """Yield a temporary folder beside `path`; replace `path` with it only if the block succeeds."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=path.parent, prefix=f".{path.name}."))
    try:
        yield tmp
        ordinary_mode(tmp, 0o777)
        remove(path)
        os.replace(tmp, path)
    finally:
        remove(tmp)


def ordinary_mode(path, mode):
    """Give `path` the permissions a plain new file or folder gets (`mode` under the umask): mkstemp and mkdtemp
    make owner-only ones, and outputs are ordinary files."""
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(path, mode & ~umask)


def save_npz(path, **arrays):
    """Write an uncompressed .npz atomically and byte-reproducibly.

    numpy.savez stamps the current time into the zip; fixed timestamps make equal arrays give equal bytes,
    so DVC sees an unchanged output as unchanged.
    """
    with atomic_path(path) as tmp, zipfile.ZipFile(tmp, "w", zipfile.ZIP_STORED, allowZip64=True) as archive:
        for name, array in arrays.items():
            buffer = io.BytesIO()
            np.lib.format.write_array(buffer, np.asarray(array), allow_pickle=False)
            info = zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            archive.writestr(info, buffer.getvalue())


def save_csv(path, table, float_format=None):
    """Write a pandas table as CSV atomically, without its index."""
    with atomic_path(path) as tmp:
        table.to_csv(tmp, index=False, float_format=float_format)


def save_text(path, text):
    """Write a text file atomically."""
    with atomic_path(path) as tmp:
        tmp.write_text(text)
