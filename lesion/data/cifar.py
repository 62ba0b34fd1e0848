"""The CIFAR python archives (CIFAR-10, CIFAR-100): a tar.gz of pickled batch files and a meta file of class names.

Both releases share the layout and the pickles, so one reader serves both; an `Archive` says which members, which
label field (CIFAR-100 has fine and coarse labels) and how many classes. Only the exact official member paths are
extracted, and a restricted unpickler reads them, so a crafted archive can neither write outside the scratch folder
nor run code.
"""

import pickle
import tarfile
import zlib
from dataclasses import dataclass

import numpy as np

from lesion.data.sources import CHUNK, Source, disk_error, obtain
from lesion.errors import DownloadError, one_line

# What unpickling an official batch file needs: numpy's array reconstruction, and the text-to-bytes codec with
# which Python 3 writes bytes at pickle protocol 2 (a faithful repackaging); everything else is refused, so a
# crafted archive cannot run code through pickle.
PICKLE_GLOBALS = {("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
                  ("numpy", "ndarray"), ("numpy", "dtype"), ("_codecs", "encode")}


@dataclass(frozen=True)
class Archive(Source):
    """A CIFAR python archive: its top folder, its batch and meta files (the keys of `checksums`), the label field
    of a batch and the class-name field of the meta file it is read with, the number of classes those name, and a
    bound on a member's size (a bigger member is no file of this release, and is not written to disk)."""

    folder: str
    train: tuple
    test: str
    meta: str
    labels: str
    names: str
    classes: int
    max_member_bytes: int

    def gather(self, url, scratch):
        """The archive's official files, extracted into `scratch`: {file name: path}."""
        archive = obtain(url, scratch / "archive.tar.gz", self, "archive")
        return extract(archive, scratch, url, self)

    def convert(self, files):
        """The extracted files as the dataset contract's arrays."""
        class_names = read_class_names(files[self.meta], self)
        train = [read_batch(files[name], self) for name in self.train]
        x_test, y_test = read_batch(files[self.test], self)
        return {
            "x_train": np.concatenate([x for x, _ in train]),
            "y_train": np.concatenate([y for _, y in train]),
            "x_test": x_test,
            "y_test": y_test,
            "class_names": class_names,
        }


def official_members(tar, url, archive):
    """The archive's batch and meta files, by their exact official paths, each present once and of a plausible
    size: {file name: tar member}."""
    wanted = {f"{archive.folder}/{name}": name for name in (*archive.train, archive.test, archive.meta)}
    found = {}
    for member in tar.getmembers():
        name = wanted.get(member.name)
        if name is None:
            continue  # readme.html, or anything that is not an official batch file: never read
        if name in found:
            raise DownloadError(f"{url} holds {member.name} twice: it is not a {archive.title} archive as released")
        if not member.isfile() or member.size > archive.max_member_bytes:
            raise DownloadError(f"{url}: {member.name} is not a regular file under {archive.max_member_bytes >> 20} "
                                f"MiB as every official {archive.title} file is: use the official archive")
        found[name] = member
    missing = [name for name in wanted.values() if name not in found]
    if missing:
        raise DownloadError(f"{url} lacks {archive.folder}/{missing[0]}: it is not a complete {archive.title} python "
                            "archive; use the official archive or a complete mirror")
    return found


def extract(path, scratch, url, archive):
    """Extract the archive's official files into `scratch`: {file name: path}. Unreadable archives and missing,
    doubled or oversized members are refused, and nothing is written outside `scratch`."""
    files = {}
    try:
        with tarfile.open(path, "r:*") as tar:
            for name, member in official_members(tar, url, archive).items():
                files[name] = scratch / name
                with tar.extractfile(member) as src, open(files[name], "wb") as dst:
                    while chunk := src.read(CHUNK):
                        dst.write(chunk)
    except (tarfile.TarError, EOFError, OSError, zlib.error) as error:
        if disk_error(error, scratch):
            raise disk_error(error, scratch) from None
        reason = str(error).splitlines()[0].rstrip(":")
        raise DownloadError(f"{url} is not a readable tar.gz archive ({reason}): download it again") from error
    return files


class BatchUnpickler(pickle.Unpickler):
    """An unpickler that builds only what official batch files hold (dicts, lists, bytes, ints, numpy arrays)."""

    def find_class(self, module, name):
        if (module, name) in PICKLE_GLOBALS:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"it asks for {module}.{name}, which no CIFAR file holds; nothing was run")


def unpickle(path, archive):
    """One batch or meta file, loaded by the restricted unpickler; anything unexpected is one DownloadError."""
    try:
        with open(path, "rb") as f:
            return BatchUnpickler(f, encoding="bytes").load()
    except Exception as error:  # noqa: BLE001 - any malformed or hostile pickle is the same user-facing problem
        raise DownloadError(f"{path.name} is not a {archive.title} batch file ({one_line(error)}): use the official "
                            "archive") from None


def read_batch(path, archive):
    """Images (N,32,32,3 uint8) and labels (N,) of one official batch file, whatever N is."""
    batch = unpickle(path, archive)
    try:
        rows = np.asarray(batch[b"data"], dtype=np.uint8)
        labels = np.asarray(batch[archive.labels.encode()], dtype=np.int64)
        images = rows.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)  # each row: 1024 red, 1024 green, 1024 blue
    except Exception as error:  # noqa: BLE001 - a well-formed pickle of the wrong content
        raise DownloadError(f"{path.name} is not a {archive.title} batch file ({one_line(error)}): use the official "
                            "archive") from None
    if labels.ndim != 1 or len(images) != len(labels):
        raise DownloadError(f"{path.name} has {len(images)} images but {labels.size} {archive.labels}: use the "
                            "official archive")
    if len(labels) and (labels.min() < 0 or labels.max() >= archive.classes):
        raise DownloadError(f"{path.name} has {archive.labels} from {labels.min()} to {labels.max()}, outside "
                            f"0..{archive.classes - 1} of the {archive.classes} classes of {archive.meta}: use the "
                            "official archive")
    return images, labels.astype(np.uint8)


def read_class_names(path, archive):
    """The class names of the meta file's name field: as many distinct names as the release has classes."""
    meta = unpickle(path, archive)
    names = meta.get(archive.names.encode()) if isinstance(meta, dict) else None
    if not isinstance(names, list) or not all(isinstance(n, bytes) for n in names):
        raise DownloadError(f"{path.name} has no list of {archive.names}: use the official archive")
    names = [name.decode(errors="replace") for name in names]
    if len(names) != archive.classes or len(set(names)) != archive.classes:
        raise DownloadError(f"{path.name} names {len(names)} classes ({len(set(names))} distinct), {archive.title} "
                            f"has {archive.classes} ({archive.names}): use the official archive")
    return np.array(names)
