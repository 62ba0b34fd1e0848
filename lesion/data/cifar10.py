"""The CIFAR-10 python archive: fetch it (or read a local mirror), verify its files, convert them to arrays.

`download(url, verify)` is the download stage's work; every failure is one DownloadError.
"""

import errno
import hashlib
import pickle
import tarfile
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
import zlib
from pathlib import Path

import numpy as np
from tqdm import tqdm

from lesion import contract
from lesion.errors import DownloadError, one_line
from lesion.files import remove

TOP_FOLDER = "cifar-10-batches-py"
NUM_CLASSES = 10
TRAIN_BATCHES = [f"data_batch_{i}" for i in range(1, 6)]
TEST_BATCH = "test_batch"
META = "batches.meta"
# The official md5 of every file inside the archive (as torchvision checks them).
OFFICIAL_MD5 = {
    "data_batch_1": "c99cafc152244af753f735de768cd75f",
    "data_batch_2": "d4bba439e000b95fd0a9bffe97cbabec",
    "data_batch_3": "54ebc095f3ab1f0389bbae665268c751",
    "data_batch_4": "634d18415352ddfa80567beed471001a",
    "data_batch_5": "482c414d41f54cd18b22e5b47cb7c3cb",
    "test_batch": "40351d587109b95175f43aff81a1287e",
    "batches.meta": "5ff9c542aee3614f3951f8cda6e48888",
}
ATTEMPTS = 4
RETRY_PAUSE_S = 0.5
MAX_MEMBER_BYTES = 64 * 2**20  # the official batch files are about 31 MB: a larger member is no CIFAR-10 file
CHUNK = 1 << 20
SCRATCH_PREFIX = ".download."
# What unpickling an official batch file needs: numpy's array reconstruction, and the text-to-bytes codec with
# which Python 3 writes bytes at pickle protocol 2 (a faithful repackaging); everything else is refused, so a
# crafted archive cannot run code through pickle.
PICKLE_GLOBALS = {("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
                  ("numpy", "ndarray"), ("numpy", "dtype"), ("_codecs", "encode")}
DISK_ERRORS = {errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EFBIG}
MIRROR_HINT = "or point data.url at a local copy: dvc exp run -S data.url=/path/to/cifar-10-python.tar.gz"


def local_path(url):
    """The filesystem path for a file:// URL or a plain path; None for a network URL."""
    parsed = urllib.parse.urlparse(url)
    if parsed.scheme == "file":
        return Path(urllib.request.url2pathname(parsed.path))
    if parsed.scheme in ("http", "https", "ftp"):
        return None
    return Path(url)


def disk_error(error, path):
    """A DownloadError for a failed local write (full disk, quota, read-only), or None for any other error."""
    if isinstance(error, OSError) and not isinstance(error, urllib.error.URLError) and error.errno in DISK_ERRORS:
        return DownloadError(f"cannot write {path}: {error.strerror}: free space on that disk (or fix its "
                             "permissions) and rerun")
    return None


def is_transient(error):
    """Network failures worth another try: connection problems, timeouts and server-side (5xx) errors."""
    if isinstance(error, urllib.error.HTTPError):
        return error.code >= 500 or error.code == 429
    return isinstance(error, (urllib.error.URLError, ConnectionError, TimeoutError))


def stream(url, destination):
    """Stream `url` into `destination` with a progress bar; a short read counts as a failure."""
    with urllib.request.urlopen(url, timeout=60) as response:
        total = int(response.headers.get("Content-Length") or 0) or None
        with open(destination, "wb") as out, tqdm(
            total=total, unit="B", unit_scale=True, desc="download", leave=False
        ) as bar:
            while chunk := response.read(1 << 20):
                out.write(chunk)
                bar.update(len(chunk))
    if total is not None and destination.stat().st_size != total:
        raise ConnectionError(f"connection closed after {destination.stat().st_size} of {total} bytes")


def fetch(url, destination):
    """Download with a few retries of transient failures, then one clear error."""
    for attempt in range(1, ATTEMPTS + 1):
        try:
            return stream(url, destination)
        except Exception as error:  # noqa: BLE001 - every failure is reported or retried
            if disk_error(error, destination):
                raise disk_error(error, destination) from None
            if not is_transient(error) or attempt == ATTEMPTS:
                raise DownloadError(f"cannot download {url}: {describe(error)}; check the URL and network, {MIRROR_HINT}")
            time.sleep(RETRY_PAUSE_S * attempt)


def describe(error):
    """A short human description of a network error."""
    if isinstance(error, urllib.error.HTTPError):
        return f"HTTP {error.code} {error.reason}"
    if isinstance(error, urllib.error.URLError):
        return str(error.reason)
    return str(error) or type(error).__name__


def official_members(tar, source):
    """The archive's batch files, by their exact official paths, each present once and of a plausible size."""
    wanted = {f"{TOP_FOLDER}/{name}": name for name in TRAIN_BATCHES + [TEST_BATCH, META]}
    found = {}
    for member in tar.getmembers():
        name = wanted.get(member.name)
        if name is None:
            continue  # readme.html, or anything that is not an official batch file: never read
        if name in found:
            raise DownloadError(f"{source} holds {member.name} twice: it is not a CIFAR-10 archive as released")
        if not member.isfile() or member.size > MAX_MEMBER_BYTES:
            raise DownloadError(f"{source}: {member.name} is not a regular file under {MAX_MEMBER_BYTES >> 20} MiB "
                                "as every official batch file is: use the official archive")
        found[name] = member
    missing = [name for name in wanted.values() if name not in found]
    if missing:
        raise DownloadError(f"{source} lacks {TOP_FOLDER}/{missing[0]}: it is not a complete CIFAR-10 python "
                            "archive; use the official archive or a complete mirror")
    return found


def extract(archive, folder, source):
    """Extract the archive's batch files into `folder`; reject unreadable archives, missing, doubled or oversized
    members, and write nothing outside `folder`."""
    try:
        with tarfile.open(archive, "r:*") as tar:
            for name, member in official_members(tar, source).items():
                with tar.extractfile(member) as src, open(folder / name, "wb") as dst:
                    while chunk := src.read(CHUNK):
                        dst.write(chunk)
    except (tarfile.TarError, EOFError, OSError, zlib.error) as error:
        if disk_error(error, folder):
            raise disk_error(error, folder) from None
        reason = str(error).splitlines()[0].rstrip(":")
        raise DownloadError(f"{source} is not a readable tar.gz archive ({reason}): download it again") from error


def md5_of(path):
    """The md5 of a file, read in chunks."""
    digest = hashlib.md5()
    with open(path, "rb") as f:
        while chunk := f.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def verify(folder, checksums):
    """Compare every extracted file with its expected md5 (files, not the archive: mirrors may repack)."""
    for name, expected in checksums.items():
        actual = md5_of(folder / name)
        if actual != expected:
            raise DownloadError(
                f"{name} has md5 {actual}, expected {expected}: the archive is damaged or not the official "
                f"CIFAR-10; download it again, or set data.verify=false for a faithful mirror"
            )


class BatchUnpickler(pickle.Unpickler):
    """An unpickler that builds only what official batch files hold (dicts, lists, bytes, ints, numpy arrays)."""

    def find_class(self, module, name):
        if (module, name) in PICKLE_GLOBALS:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"it asks for {module}.{name}, which no CIFAR-10 file holds; nothing was run")


def unpickle(path):
    """One batch file, loaded by the restricted unpickler; anything unexpected is one DownloadError."""
    try:
        with open(path, "rb") as f:
            return BatchUnpickler(f, encoding="bytes").load()
    except Exception as error:  # noqa: BLE001 - any malformed or hostile pickle is the same user-facing problem
        raise DownloadError(f"{path.name} is not a CIFAR-10 batch file ({one_line(error)}): use the official "
                            "archive") from None


def read_batch(path, n_classes):
    """Images (N,32,32,3 uint8) and labels (N,) of one official batch file, whatever N is."""
    batch = unpickle(path)
    try:
        rows = np.asarray(batch[b"data"], dtype=np.uint8)
        labels = np.asarray(batch[b"labels"], dtype=np.int64)
        images = rows.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)
    except Exception as error:  # noqa: BLE001 - a well-formed pickle of the wrong content
        raise DownloadError(f"{path.name} is not a CIFAR-10 batch file ({error}): use the official archive") from None
    if len(images) != len(labels):
        raise DownloadError(f"{path.name} has {len(images)} images but {len(labels)} labels: use the official archive")
    if len(labels) and (labels.min() < 0 or labels.max() >= n_classes):
        raise DownloadError(f"{path.name} has labels from {labels.min()} to {labels.max()}, outside 0..{n_classes - 1} "
                            f"of the {n_classes} classes of {META}: use the official archive")
    return images, labels.astype(np.uint8)


def read_class_names(path):
    """The class names of batches.meta: ten distinct names, as CIFAR-10 has."""
    meta = unpickle(path)
    names = meta.get(b"label_names") if isinstance(meta, dict) else None
    if not isinstance(names, list) or not all(isinstance(n, bytes) for n in names):
        raise DownloadError(f"{path.name} has no list of label_names: use the official archive")
    names = [name.decode(errors="replace") for name in names]
    if len(names) != NUM_CLASSES or len(set(names)) != NUM_CLASSES:
        raise DownloadError(f"{path.name} names {len(names)} classes ({len(set(names))} distinct), CIFAR-10 has "
                            f"{NUM_CLASSES}: use the official archive")
    return np.array(names)


def convert(folder):
    """All batches of the extracted folder as the arrays later stages read."""
    class_names = read_class_names(folder / META)
    train = [read_batch(folder / name, len(class_names)) for name in TRAIN_BATCHES]
    x_test, y_test = read_batch(folder / TEST_BATCH, len(class_names))
    return {
        "x_train": np.concatenate([x for x, _ in train]),
        "y_train": np.concatenate([y for _, y in train]),
        "x_test": x_test,
        "y_test": y_test,
        "class_names": class_names,
    }


def download(url, verify_files, output=contract.DATASET, checksums=OFFICIAL_MD5):
    """Fetch (or read) the archive at `url` and write the arrays to `output`."""
    output.parent.mkdir(parents=True, exist_ok=True)
    for stale in output.parent.glob(f"{SCRATCH_PREFIX}*"):  # scratch of a run that was killed
        remove(stale)
    with tempfile.TemporaryDirectory(dir=output.parent, prefix=SCRATCH_PREFIX) as scratch:
        scratch = Path(scratch)
        archive = local_path(url)
        if archive is None:
            archive = scratch / "archive.tar.gz"
            fetch(url, archive)
        elif not archive.is_file():
            raise DownloadError(f"no archive at {archive}: check data.url")
        extract(archive, scratch, url)
        if verify_files:
            verify(scratch, checksums)
        arrays = convert(scratch)
    contract.write_dataset(arrays, output)
    print(f"wrote {output}: {len(arrays['x_train'])} train and {len(arrays['x_test'])} test images")
