"""The idx releases (MNIST, Fashion-MNIST): four gzip'd idx files in one folder, train and test images and labels.

An idx file is a big-endian header (a magic number that gives the element type and the number of dimensions, then
each dimension's size) followed by the elements. Headers are checked strictly and a file is read no further than
its largest official size, so a damaged, swapped or hostile file is one clear error, not a wrong array or a
decompression bomb.
"""

import gzip
import math
import struct
import zlib
from dataclasses import dataclass

import numpy as np

from lesion.data.sources import Source, obtain
from lesion.errors import DownloadError, one_line

IMAGES_MAGIC = 0x0803  # unsigned bytes, three dimensions: count, rows, columns
LABELS_MAGIC = 0x0801  # unsigned bytes, one dimension: count
SIDE = 28
MAX_COUNT = 100_000  # images per file: the official files hold 60,000 and 10,000
SPLITS = {"train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
          "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")}
FILES = tuple(name for pair in SPLITS.values() for name in pair)


@dataclass(frozen=True)
class IdxFiles(Source):
    """An idx release: its folder URL (`url`, the four FILES beneath it), their md5s, and the class names in label
    order (the files hold label numbers only)."""

    class_names: tuple

    def gather(self, url, scratch):
        """The four files, fetched into `scratch` or read where they lie: {file name: path}."""
        folder = url if url.endswith("/") else url + "/"
        return {name: obtain(folder + name, scratch / name, self, name) for name in FILES}

    def convert(self, files):
        """The four files as the dataset contract's arrays; images gain a channel axis (N,28,28,1)."""
        (x_train, y_train), (x_test, y_test) = (read_split(files, split, self) for split in SPLITS)
        return {"x_train": x_train, "y_train": y_train, "x_test": x_test, "y_test": y_test,
                "class_names": np.array(self.class_names)}


def bad_file(path, problem, source):
    """The error for an idx file that is not as released."""
    return DownloadError(f"{path.name} {problem}: it is not the official {source.title} file; download it again, "
                         f"{source.mirror_hint}")


def decompress(path, limit, source):
    """The decompressed content of a gzip file, read no further than `limit` bytes plus one (to tell it is over)."""
    try:
        with gzip.open(path, "rb") as f:
            return f.read(limit + 1)
    except (OSError, EOFError, zlib.error) as error:
        raise bad_file(path, f"is not a readable gzip file ({one_line(error)})", source) from None


def read_idx(path, magic, shape, source):
    """The elements of one idx file of unsigned bytes as an array (count, *shape), after checking its magic number,
    its dimensions, its count against MAX_COUNT and its length against what the header promises."""
    header = struct.Struct(f">{2 + len(shape)}I")
    content = decompress(path, header.size + MAX_COUNT * math.prod(shape), source)
    if len(content) < header.size:
        raise bad_file(path, f"ends after {len(content)} bytes, inside its {header.size}-byte header", source)
    found, count, *dims = header.unpack_from(content)
    if found != magic:
        raise bad_file(path, f"has magic number {found:#010x}, where its kind of idx file has {magic:#010x}", source)
    if tuple(dims) != shape or count > MAX_COUNT:
        raise bad_file(path, f"has dimensions {[count, *dims]}, expected up to {MAX_COUNT} of {list(shape)}", source)
    payload = len(content) - header.size
    if payload != count * math.prod(shape):
        raise bad_file(path, f"holds {payload} bytes after its header, which promises {count} of "
                       f"{math.prod(shape)} bytes = {count * math.prod(shape)}", source)
    return np.frombuffer(content, np.uint8, offset=header.size).reshape(count, *shape)


def read_split(files, split, source):
    """Images (N,28,28,1 uint8) and labels (N,) of one split, checked to match in count and to name known classes."""
    images_name, labels_name = SPLITS[split]
    images = read_idx(files[images_name], IMAGES_MAGIC, (SIDE, SIDE), source)
    labels = read_idx(files[labels_name], LABELS_MAGIC, (), source)
    if len(images) != len(labels):
        raise DownloadError(f"{images_name} has {len(images)} images but {labels_name} has {len(labels)} labels: "
                            f"they are not one official {source.title} split; download them again, "
                            f"{source.mirror_hint}")
    if len(labels) and labels.max() >= len(source.class_names):
        raise bad_file(files[labels_name], f"has labels up to {labels.max()}, outside the "
                       f"{len(source.class_names)} classes 0..{len(source.class_names) - 1}", source)
    return images[..., None], labels
