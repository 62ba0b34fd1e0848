"""params.yaml keeps its shape under `dvc exp run -S`: every comment stays, and setting a value back restores the
file byte for byte (DVC rewrites the file through ruamel, which drops a comment that follows a replaced list)."""

import shutil

import pytest
import yaml
from dvc.utils.hydra import apply_overrides

from lesion import params
from tests.conftest import REPO


def comments(text):
    return [line.strip() for line in text.splitlines() if line.strip().startswith("#")]


def leaves(key, value):
    """(dotted key, value) of each setting under `key`: a mapping such as train.schedule is set key by key."""
    if isinstance(value, dict):
        return [leaf for name, inner in value.items() for leaf in leaves(f"{key}.{name}", inner)]
    return [(key, value)]


def every_param():
    """Each setting of params.yaml with its value."""
    values = yaml.safe_load((REPO / "params.yaml").read_text())
    return [leaf for section in params.SCHEMA for key in params.SCHEMA[section]
            for leaf in leaves(f"{section}.{key}", values[section][key])]


def another(value):
    """A different value of the same kind: what a user would set with -S."""
    if value is None:
        return 1
    if isinstance(value, bool):
        return not value
    if isinstance(value, (int, float)):
        return value + 1
    if isinstance(value, str):
        return value + "x"
    return [["cat", "dog"]] if isinstance(value[0], list) else [value[0], value[-1] + 1]


def as_override(key, value):
    """The -S argument setting `key` to `value`, in Hydra's override grammar (strings quoted)."""
    if isinstance(value, str):
        return f"{key}='{value}'"
    return f"{key}={yaml.safe_dump(value, default_flow_style=True).strip().removesuffix('...').strip()}"


@pytest.mark.parametrize("key, value", every_param(), ids=[key for key, _ in every_param()])
def test_setting_any_key_keeps_every_comment_and_setting_it_back_restores_the_file(tmp_path, key, value):
    path = tmp_path / "params.yaml"
    shutil.copy(REPO / "params.yaml", path)
    original = path.read_text()
    apply_overrides(path, [as_override(key, another(value))])
    assert dict(leaves("", yaml.safe_load(path.read_text())))[f".{key}"] == another(value)
    assert comments(path.read_text()) == comments(original)
    apply_overrides(path, [as_override(key, value)])
    assert path.read_text() == original


def test_the_readme_laptop_study_overrides_keep_the_shape(tmp_path):
    path = tmp_path / "params.yaml"
    shutil.copy(REPO / "params.yaml", path)
    original = path.read_text()
    apply_overrides(path, ["corrupt.pairs=[[automobile,truck],[cat,dog]]", "corrupt.trials=3",
                           "corrupt.clean_trials=3", "train.epochs=2"])
    assert comments(path.read_text()) == comments(original)
    assert yaml.safe_load(path.read_text())["corrupt"]["pairs"] == [["automobile", "truck"], ["cat", "dog"]]
