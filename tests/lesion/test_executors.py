"""Starting the Ray executor: a missing Ray and an unreachable RAY_ADDRESS are one error line each, at once."""

import socket
import sys

import pytest

from lesion.errors import ParamsError
from lesion.executors import connect_ray


def test_without_ray_installed_the_error_names_the_install_command(monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray now raises ImportError
    with pytest.raises(ParamsError, match=r"^train.executor is ray but Ray is not installed: python3 -m pip install "
                                          r"-r requirements-ray.txt$"):
        connect_ray()


def test_an_unreachable_cluster_is_an_error_not_minutes_of_retries(monkeypatch):
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    monkeypatch.setenv("RAY_ADDRESS", f"127.0.0.1:{port}")
    with pytest.raises(ParamsError) as error:
        connect_ray()
    assert str(error.value).startswith(f"cannot connect to the Ray cluster at RAY_ADDRESS=127.0.0.1:{port} (")
    assert str(error.value).endswith("start it (ray start --head) or unset RAY_ADDRESS for a local one")
