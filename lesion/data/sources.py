"""Getting a dataset's published files, whatever their format: fetch them (with retries and a progress bar) or read
a local mirror, in a scratch folder beside the output, and check them against the published md5s.

Every dataset goes through these functions, so a network failure, a full disk or a damaged file reads the same for
all of them; each failure is one DownloadError that names the dataset's param to change.
"""

import errno
import hashlib
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tqdm import tqdm

from lesion.errors import DownloadError
from lesion.files import remove

ATTEMPTS = 4
RETRY_PAUSE_S = 0.5
CHUNK = 1 << 20
SCRATCH_PREFIX = ".download."
DISK_ERRORS = {errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EFBIG}


@dataclass(frozen=True)
class Source:
    """What every dataset's source has, whatever its format: a title for messages, its official location (the
    default data.url), the md5 of each published file (checked one by one, so a faithful repackaging passes), and
    what a local copy is (`local_copy`, with an example path), for the advice of an error."""

    title: str
    url: str
    checksums: dict
    local_copy: str
    local_example: str

    @property
    def mirror_hint(self):
        return f"or point data.url at {self.local_copy}: dvc exp run -S data.url={self.local_example}"


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


def describe(error):
    """A short human description of a network error."""
    if isinstance(error, urllib.error.HTTPError):
        return f"HTTP {error.code} {error.reason}"
    if isinstance(error, urllib.error.URLError):
        return str(error.reason)
    return str(error) or type(error).__name__


def stream(url, destination):
    """Stream `url` into `destination` with a progress bar; a short read counts as a failure."""
    with urllib.request.urlopen(url, timeout=60) as response:
        total = int(response.headers.get("Content-Length") or 0) or None
        with open(destination, "wb") as out, tqdm(
            total=total, unit="B", unit_scale=True, desc="download", leave=False
        ) as bar:
            while chunk := response.read(CHUNK):
                out.write(chunk)
                bar.update(len(chunk))
    if total is not None and destination.stat().st_size != total:
        raise ConnectionError(f"connection closed after {destination.stat().st_size} of {total} bytes")


def fetch(url, destination, source):
    """Download with a few retries of transient failures, then one clear error."""
    for attempt in range(1, ATTEMPTS + 1):
        try:
            return stream(url, destination)
        except Exception as error:  # noqa: BLE001 - every failure is reported or retried
            if disk_error(error, destination):
                raise disk_error(error, destination) from None
            if not is_transient(error) or attempt == ATTEMPTS:
                raise DownloadError(f"cannot download {url}: {describe(error)}; check the URL and network, "
                                    f"{source.mirror_hint}") from None
            time.sleep(RETRY_PAUSE_S * attempt)


def obtain(url, destination, source, what):
    """The file at `url`: a local path or file:// URL is read where it lies, a network URL is fetched into
    `destination` (in the scratch folder). `what` names the file in the error of a missing local copy."""
    path = local_path(url)
    if path is None:
        fetch(url, destination, source)
        return destination
    if not path.is_file():
        raise DownloadError(f"no {what} at {path}: check data.url, which should name {source.local_copy}")
    return path


def md5_of(path):
    """The md5 of a file, read in chunks."""
    digest = hashlib.md5()
    with open(path, "rb") as f:
        while chunk := f.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def verify(files, source):
    """Compare every published file ({name: path}) with its md5: files, not an archive, since mirrors may repack."""
    for name, expected in source.checksums.items():
        actual = md5_of(files[name])
        if actual != expected:
            raise DownloadError(
                f"{name} has md5 {actual}, expected {expected}: the download is damaged or not the official "
                f"{source.title}; download it again, or set data.verify=false for a faithful mirror"
            )


@contextmanager
def scratch_folder(output):
    """A temporary folder beside `output` (same disk, so nothing large lands in /tmp), removed afterwards; the
    scratch of a run that was killed is swept first."""
    output.parent.mkdir(parents=True, exist_ok=True)
    for stale in output.parent.glob(f"{SCRATCH_PREFIX}*"):
        remove(stale)
    with tempfile.TemporaryDirectory(dir=output.parent, prefix=SCRATCH_PREFIX) as scratch:
        yield Path(scratch)
