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


# While an output transaction is open: the (temporary, final) paths written so far, renamed together at its end.
_transaction = None


@contextmanager
def output_transaction():
    """Let every output written inside the block appear only when the whole block succeeds, all together.

    atomic_path and atomic_folder then keep their finished temporaries until the block ends; a failure removes
    them, so a stage's outputs are replaced together or not at all (two files of one stage never disagree).
    """
    global _transaction
    if _transaction is not None:
        raise RuntimeError("output transactions do not nest")
    _transaction = []
    try:
        yield
        for tmp, path in _transaction:
            place(tmp, path)
    finally:
        for tmp, _ in _transaction:
            remove(tmp)
        _transaction = None


def place(tmp, path):
    """Move a finished temporary file or folder onto `path`, replacing what was there."""
    if Path(tmp).is_dir():
        remove(path)
    os.replace(tmp, path)


def finish(tmp, path):
    """Place a finished temporary now, or at the end of the open output transaction."""
    if _transaction is None:
        place(tmp, path)
    else:
        _transaction.append((tmp, path))


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
    except BaseException:
        remove(tmp)
        raise
    finish(tmp, path)


@contextmanager
def atomic_folder(path):
    """Yield a temporary folder beside `path`; replace `path` with it only if the block succeeds."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp"))
    try:
        yield tmp
        ordinary_mode(tmp, 0o777)
    except BaseException:
        remove(tmp)
        raise
    finish(tmp, path)


def stale_temporaries(folder):
    """Temporaries that killed runs left in `folder` (atomic_path's and atomic_folder's `.<name>.*.tmp`)."""
    return sorted(Path(folder).glob(".*.tmp")) if Path(folder).is_dir() else []


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
