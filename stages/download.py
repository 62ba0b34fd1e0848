"""Stage `download`: fetch the dataset data.dataset names (from its official location, or the mirror at data.url),
verify its files (data.verify), write data/<data.dataset>.npz (lesion.data.datasets)."""

from lesion import contract, params
from lesion.data import datasets
from lesion.stage import run_stage


def output():
    return [contract.dataset_file(params.load("data")["dataset"])]


def main():
    settings = params.load("data")
    name = settings["dataset"]
    url = settings["url"] or datasets.official_url(name)
    datasets.download(name, url, settings["verify"], contract.dataset_file(name))


if __name__ == "__main__":
    run_stage(main, outputs=output)
