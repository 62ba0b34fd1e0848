"""Fixtures of the dataset tests: an empty folder served over HTTP on 127.0.0.1, for a test to fill."""

import pytest

from tests.fixtures.cifar import Server


@pytest.fixture
def www(tmp_path_factory):
    """(server, folder): whatever a test writes into `folder` is served at server.url(name)."""
    folder = tmp_path_factory.mktemp("www")
    server = Server(folder)
    yield server, folder
    server.close()
