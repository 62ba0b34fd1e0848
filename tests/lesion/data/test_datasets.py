"""The datasets the download stage knows: each one's official location, published checksums and class names."""

import re

import pytest

from lesion.data import datasets
from lesion.data.cifar import Archive
from lesion.data.idx import FILES
from lesion.errors import ParamsError

OFFICIAL = {
    "cifar10": "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz",
    "cifar100": "https://www.cs.toronto.edu/~kriz/cifar-100-python.tar.gz",
    "cifar100_coarse": "https://www.cs.toronto.edu/~kriz/cifar-100-python.tar.gz",
    "mnist": "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "fashion_mnist": "https://storage.googleapis.com/tensorflow/tf-keras-datasets/",
}


def test_every_dataset_has_its_official_url():
    assert {name: datasets.official_url(name) for name in datasets.DATASETS} == OFFICIAL


@pytest.mark.parametrize("name", OFFICIAL)
def test_every_published_file_has_an_md5(name):
    source = datasets.DATASETS[name]
    files = (*source.train, source.test, source.meta) if isinstance(source, Archive) else FILES
    assert sorted(source.checksums) == sorted(files)
    assert all(re.fullmatch("[0-9a-f]{32}", md5) for md5 in source.checksums.values())


def test_the_two_cifar100_datasets_are_one_archive():
    fine, coarse = datasets.DATASETS["cifar100"], datasets.DATASETS["cifar100_coarse"]
    assert (fine.url, fine.checksums, fine.folder) == (coarse.url, coarse.checksums, coarse.folder)
    assert (fine.labels, fine.classes, coarse.labels, coarse.classes) == ("fine_labels", 100, "coarse_labels", 20)


def test_idx_class_names_are_plain_identifiers():
    """Params name classes in YAML and figures print them: no spaces, slashes or capitals."""
    assert datasets.DATASETS["mnist"].class_names == tuple("0123456789")
    names = datasets.DATASETS["fashion_mnist"].class_names
    assert len(set(names)) == 10 and all(re.fullmatch("[a-z_]+", name) for name in names)
    assert names[0] == "tshirt" and names[9] == "ankle_boot"


def test_an_unknown_dataset_names_the_choices(tmp_path):
    with pytest.raises(ParamsError, match="unknown dataset 'svhn': data.dataset is one of cifar10, cifar100, "
                                          "cifar100_coarse, mnist, fashion_mnist"):
        datasets.download("svhn", "https://example.org/", True, tmp_path / "out.npz")
    assert not (tmp_path / "out.npz").exists()
