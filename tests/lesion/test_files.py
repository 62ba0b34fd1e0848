"""Atomic outputs: a folder is replaced whole or not at all, and outputs get ordinary permissions."""

import os
import stat

import pytest

from lesion.files import atomic_folder, atomic_path


def mode(path):
    return stat.S_IMODE(path.stat().st_mode)


def test_atomic_folder_replaces_the_old_folder_only_on_success(tmp_path):
    target = tmp_path / "vis"
    target.mkdir()
    (target / "old.png").write_text("old")
    with pytest.raises(RuntimeError), atomic_folder(target) as folder:
        (folder / "half.png").write_text("half")
        raise RuntimeError("stopped midway")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["vis"]  # no temporary folder left behind
    assert sorted(p.name for p in target.iterdir()) == ["old.png"]

    with atomic_folder(target) as folder:
        (folder / "sub").mkdir()
        (folder / "sub" / "new.png").write_text("new")
    assert sorted(str(p.relative_to(target)) for p in target.rglob("*")) == ["sub", "sub/new.png"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["vis"]


def test_outputs_get_the_umask_permissions_not_owner_only(tmp_path):
    umask = os.umask(0o022)
    try:
        with atomic_path(tmp_path / "table.csv") as tmp:
            tmp.write_text("a\n")
        with atomic_folder(tmp_path / "vis"):
            pass
    finally:
        os.umask(umask)
    assert mode(tmp_path / "table.csv") == 0o644
    assert mode(tmp_path / "vis") == 0o755
