"""The datasets the download stage knows, and the one path they all take to the dataset contract's npz.

Each entry of DATASETS is its official source: where it is published (the default data.url), its format (a CIFAR
python archive or an idx folder) and the md5 of every published file. The URLs and md5s are the ones torchvision
(CIFAR, MNIST), Zalando's Fashion-MNIST README and Keras (which hosts the same Fashion-MNIST files) check against.
"""

from dataclasses import replace
from pathlib import Path

from lesion import contract
from lesion.data.cifar import Archive
from lesion.data.idx import IdxFiles
from lesion.data.sources import scratch_folder, verify
from lesion.errors import ParamsError

CIFAR10 = Archive(
    title="CIFAR-10", url="https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz",
    checksums={
        "data_batch_1": "c99cafc152244af753f735de768cd75f",
        "data_batch_2": "d4bba439e000b95fd0a9bffe97cbabec",
        "data_batch_3": "54ebc095f3ab1f0389bbae665268c751",
        "data_batch_4": "634d18415352ddfa80567beed471001a",
        "data_batch_5": "482c414d41f54cd18b22e5b47cb7c3cb",
        "test_batch": "40351d587109b95175f43aff81a1287e",
        "batches.meta": "5ff9c542aee3614f3951f8cda6e48888",
    },
    local_copy="a local copy", local_example="/path/to/cifar-10-python.tar.gz",
    folder="cifar-10-batches-py", train=tuple(f"data_batch_{i}" for i in range(1, 6)), test="test_batch",
    meta="batches.meta", labels="labels", names="label_names", classes=10,
    max_member_bytes=64 * 2**20,  # the official batch files are about 31 MB
)
CIFAR100 = Archive(
    title="CIFAR-100", url="https://www.cs.toronto.edu/~kriz/cifar-100-python.tar.gz",
    checksums={
        "train": "16019d7e3df5f24257cddd939b257f8d",
        "test": "f0ef6b0ae62326f3e7ffdfab6717acfc",
        "meta": "7973b15100ade9c7d40fb424638fde48",
    },
    local_copy="a local copy", local_example="/path/to/cifar-100-python.tar.gz",
    folder="cifar-100-python", train=("train",), test="test", meta="meta", labels="fine_labels",
    names="fine_label_names", classes=100,
    max_member_bytes=256 * 2**20,  # the official train file is about 155 MB
)
MNIST = IdxFiles(
    title="MNIST",
    # torchvision's https mirror: the original http://yann.lecun.com/exdb/mnist/ often refuses downloads.
    url="https://ossci-datasets.s3.amazonaws.com/mnist/",
    checksums={
        "train-images-idx3-ubyte.gz": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
        "train-labels-idx1-ubyte.gz": "d53e105ee54ea40749a09fcbcd1e9432",
        "t10k-images-idx3-ubyte.gz": "9fb629c4189551a2d022fa330f9573f3",
        "t10k-labels-idx1-ubyte.gz": "ec29112dd5afa0611ce80d1b7f02629c",
    },
    local_copy="a local folder holding MNIST's four .gz files", local_example="/path/to/mnist/",
    class_names=tuple(str(digit) for digit in range(10)),
)
FASHION_MNIST = IdxFiles(
    title="Fashion-MNIST",
    url="https://storage.googleapis.com/tensorflow/tf-keras-datasets/",  # Keras's copy of Zalando's release
    checksums={
        "train-images-idx3-ubyte.gz": "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
        "train-labels-idx1-ubyte.gz": "25c81989df183df01b3e8a0aad5dffbe",
        "t10k-images-idx3-ubyte.gz": "bef4ecab320f06d8554ea6380940ec79",
        "t10k-labels-idx1-ubyte.gz": "bb300cfdad3c16e7a12a480ee83cd310",
    },
    local_copy="a local folder holding Fashion-MNIST's four .gz files", local_example="/path/to/fashion-mnist/",
    # Zalando's names (T-shirt/top, ..., Ankle boot) as identifiers: params and figure labels take them as they are.
    class_names=("tshirt", "trouser", "pullover", "dress", "coat", "sandal", "shirt", "sneaker", "bag", "ankle_boot"),
)
DATASETS = {
    "cifar10": CIFAR10,
    "cifar100": CIFAR100,
    "cifar100_coarse": replace(CIFAR100, labels="coarse_labels", names="coarse_label_names", classes=20),
    "mnist": MNIST,
    "fashion_mnist": FASHION_MNIST,
}


def source(name):
    """The source of dataset `name`; an unknown name is the user's param to fix."""
    if name not in DATASETS:
        raise ParamsError(f"unknown dataset {name!r}: data.dataset is one of {', '.join(DATASETS)}")
    return DATASETS[name]


def official_url(name):
    """Where dataset `name` is published: the data.url to use when the user left it empty."""
    return source(name).url


def download(name, url, verify_files, output):
    """Fetch (or read) dataset `name`'s files at `url`, check their md5s if `verify_files`, convert them and write
    the arrays to `output`, atomically; temporaries live beside `output` and are gone afterwards."""
    dataset, output = source(name), Path(output)
    with scratch_folder(output) as scratch:
        files = dataset.gather(url, scratch)
        if verify_files:
            verify(files, dataset)
        arrays = dataset.convert(files)
    contract.write_dataset(arrays, output)
    print(f"wrote {output}: {len(arrays['x_train'])} train and {len(arrays['x_test'])} test images")
