"""Shared fixtures: a synthetic official-format archive served over HTTP on 127.0.0.1, and project folders."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.fixtures.cifar import Server, make_archive, make_batches

REPO = Path(__file__).resolve().parents[1]
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


@pytest.fixture(scope="session")
def synthetic():
    """The synthetic archive's files and arrays (10 train and 4 test images per class)."""
    files, arrays = make_batches()
    return files, arrays


@pytest.fixture
def served(tmp_path_factory, synthetic):
    """Serve archive variants from a folder: returns (server, folder); the caller writes files into it."""
    folder = tmp_path_factory.mktemp("www")
    (folder / "cifar-10-python.tar.gz").write_bytes(make_archive(synthetic[0]))
    server = Server(folder)
    yield server, folder
    server.close()


def write_params(project, **sections):
    """Update params.yaml in `project` (first copied from the repository's), overriding the given keys."""
    existing = project / "params.yaml"
    params = yaml.safe_load((existing if existing.exists() else REPO / "params.yaml").read_text())
    for section, values in sections.items():
        params.setdefault(section, {}).update(values)
    (project / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))


def stage_env():
    """The environment a stage runs in: the repository's `stages` importable from any project folder."""
    return dict(os.environ, PYTHONPATH=str(REPO), DVC_NO_ANALYTICS="1")


def run_module(project, module, *arguments, check=False):
    """Run `python -m stages.<module> [arguments]` in `project`."""
    result = subprocess.run([sys.executable, "-m", f"stages.{module}", *arguments], cwd=project, env=stage_env(),
                            capture_output=True, text=True)
    if check and result.returncode != 0:
        raise AssertionError(result.stderr)
    return result


@pytest.fixture
def project(tmp_path):
    """An empty working folder with the repository's params.yaml."""
    write_params(tmp_path)
    return tmp_path


def copy_repo(destination):
    """Copy the pipeline's files (not data or outputs) into `destination`."""
    for name in ("stages", "lesion", "dvc.yaml", "params.yaml"):
        source = REPO / name
        if source.is_dir():
            shutil.copytree(source, destination / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy(source, destination / name)


@pytest.fixture(scope="session")
def blob_study(tmp_path_factory):
    """(project, weights, x_test, y_test): a clean and an automobile/truck-swapped model trained on blobs."""
    from tests.fixtures.blobs import write_blob_study

    return write_blob_study(tmp_path_factory.mktemp("blobs"))
