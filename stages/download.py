"""Stage `download`: fetch the CIFAR-10 python archive (data.url), verify its files (data.verify), write
data/cifar10.npz."""

from lesion import contract, params
from lesion.data.cifar10 import download
from lesion.stage import run_stage


def main():
    settings = params.load("data")
    download(settings["url"], settings["verify"])


if __name__ == "__main__":
    run_stage(main, outputs=[contract.DATASET])
