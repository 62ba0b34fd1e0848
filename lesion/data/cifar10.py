"""The CIFAR-10 python archive: fetch it (or read a local mirror), verify its files, convert them to arrays.

`download(url, verify)` is the download stage's work; every failure is one DownloadError.
"""

import hashlib
import pickle
import shutil
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
from lesion.errors import DownloadError

TOP_FOLDER = "cifar-10-batches-py"
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
MIRROR_HINT = "or point data.url at a local copy: dvc exp run -S data.url=/path/to/cifar-10-python.tar.gz"


def local_path(url):
    """The filesystem path for a file:// URL or a plain path; None for a network URL."""
    parsed = urllib.parse.urlparse(url)
    if parsed.scheme == "file":
        return Path(urllib.request.url2pathname(parsed.path))
    if parsed.scheme in ("http", "https", "ftp"):
        return None
    return Path(url)


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


def extract(archive, folder, source):
    """Extract the archive's batch files into `folder`; reject unreadable archives and missing files."""
    wanted = TRAIN_BATCHES + [TEST_BATCH, META]
    try:
        with tarfile.open(archive, "r:*") as tar:
            members = {Path(m.name).name: m for m in tar.getmembers() if m.isfile()}
            missing = [name for name in wanted if name not in members]
            if missing:
                raise DownloadError(
                    f"{source} lacks {TOP_FOLDER}/{missing[0]}: it is not a complete CIFAR-10 python archive; "
                    f"use the official archive or a complete mirror"
                )
            for name in wanted:
                with tar.extractfile(members[name]) as src, open(folder / name, "wb") as dst:
                    shutil.copyfileobj(src, dst)
    except (tarfile.TarError, EOFError, OSError, zlib.error) as error:
        reason = str(error).splitlines()[0].rstrip(":")
        raise DownloadError(f"{source} is not a readable tar.gz archive ({reason}): download it again") from error


def verify(folder, checksums):
    """Compare every extracted file with its expected md5 (files, not the archive: mirrors may repack)."""
    for name, expected in checksums.items():
        actual = hashlib.md5((folder / name).read_bytes()).hexdigest()
        if actual != expected:
            raise DownloadError(
                f"{name} has md5 {actual}, expected {expected}: the archive is damaged or not the official "
                f"CIFAR-10; download it again, or set data.verify=false for a faithful mirror"
            )


def read_batch(path):
    """Images (N,32,32,3 uint8) and labels (N,) of one official batch file, whatever N is."""
    try:
        with open(path, "rb") as f:
            batch = pickle.load(f, encoding="bytes")
        rows = np.asarray(batch[b"data"], dtype=np.uint8)
        labels = np.asarray(batch[b"labels"], dtype=np.uint8)
        images = rows.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)
    except Exception as error:  # noqa: BLE001 - any malformed pickle is the same user-facing problem
        raise DownloadError(f"{path.name} is not a CIFAR-10 batch file ({error}): download the archive again")
    if len(images) != len(labels):
        raise DownloadError(f"{path.name} has {len(images)} images but {len(labels)} labels: download the archive again")
    return images, labels


def read_class_names(path):
    with open(path, "rb") as f:
        meta = pickle.load(f, encoding="bytes")
    return np.array([name.decode() for name in meta[b"label_names"]])


def convert(folder):
    """All batches of the extracted folder as the arrays later stages read."""
    train = [read_batch(folder / name) for name in TRAIN_BATCHES]
    x_test, y_test = read_batch(folder / TEST_BATCH)
    return {
        "x_train": np.concatenate([x for x, _ in train]),
        "y_train": np.concatenate([y for _, y in train]),
        "x_test": x_test,
        "y_test": y_test,
        "class_names": read_class_names(folder / META),
    }


def download(url, verify_files, output=contract.DATASET, checksums=OFFICIAL_MD5):
    """Fetch (or read) the archive at `url` and write the arrays to `output`."""
    output.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=output.parent, prefix=".download.") as scratch:
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
