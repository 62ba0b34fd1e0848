"""Fixtures of the stage tests: a tiny study trained once by the train stage, and private copies of it."""

import shutil

import pytest

from tests.conftest import REPO, run_module, write_params
from tests.fixtures.tiny import TRAIN, write_inputs


@pytest.fixture(scope="session")
def trained_study(tmp_path_factory):
    """(project, the train stage's result): six models of the tiny study, trained once for the whole run."""
    project = tmp_path_factory.mktemp("trained")
    shutil.copy(REPO / "params.yaml", project / "params.yaml")
    write_inputs(project)
    write_params(project, train=TRAIN)
    return project, run_module(project, "train", check=True)


@pytest.fixture
def trained(trained_study, tmp_path):
    """A private copy of the trained study (file times kept), for a test that changes it."""
    copy = tmp_path / "study"
    shutil.copytree(trained_study[0], copy)
    return copy
