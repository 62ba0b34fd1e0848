"""Atomic, byte-reproducible file output: a reader never sees half a file, equal content gives equal bytes."""

import io
import os
import tempfile
import zipfile
from contextlib import contextmanager
from pathlib import Path

import numpy as np


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
