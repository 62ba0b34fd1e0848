"""params.yaml's schema: the repository's params pass, every bad value, missing or unknown key and malformed file
is one line naming the key and what it must hold, booleans are never numbers, and the README's table is the
schema's."""

import pytest
import yaml

from lesion import params
from lesion.errors import ParamsError
from tests.conftest import REPO, run_module, write_params


@pytest.fixture
def repo_params():
    return yaml.safe_load((REPO / "params.yaml").read_text())


def test_the_repositorys_params_pass_and_cover_the_schema(repo_params):
    assert list(repo_params) == list(params.SCHEMA)
    for section in params.SCHEMA:
        assert params.check(section, repo_params[section]) == repo_params[section]
        assert list(repo_params[section]) == list(params.SCHEMA[section]), section


@pytest.mark.parametrize(
    "section, key, value, message",
    [
        ("corrupt", "fraction", 0, "corrupt.fraction must be a number in (0, 1], got 0"),
        ("corrupt", "fraction", 1.5, "corrupt.fraction must be a number in (0, 1], got 1.5"),
        ("corrupt", "trials", 1, "corrupt.trials must be an integer of at least 2, got 1"),
        ("corrupt", "pairs", "some", "corrupt.pairs must be 'all', {sample: N} with N >= 1 or a list of [class_a, "
                                     "class_b] pairs, got 'some'"),
        ("corrupt", "pairs", [], "corrupt.pairs must be 'all', {sample: N} with N >= 1 or a list of [class_a, "
                                 "class_b] pairs, got []"),
        ("corrupt", "pairs", [["cat"]], "corrupt.pairs must be 'all', {sample: N} with N >= 1 or a list of"),
        ("corrupt", "pairs", {"sample": 0}, "corrupt.pairs must be 'all', {sample: N} with N >= 1"),
        ("corrupt", "pairs", {"sample": 2.5}, "corrupt.pairs must be 'all', {sample: N} with N >= 1"),
        ("corrupt", "pairs", {"samples": 3}, "corrupt.pairs must be 'all', {sample: N} with N >= 1"),
        ("corrupt", "classes", ["cat"], "corrupt.classes must be 'all' or a list of at least two class names, got "
                                        "['cat']"),
        ("corrupt", "classes", "some", "corrupt.classes must be 'all' or a list of at least two class names"),
        ("corrupt", "pairs", [["cat", 2.5]], "corrupt.pairs must be 'all', {sample: N} with N >= 1 or a list of"),
        ("data", "dataset", "imagenet", "data.dataset must be one of cifar10, cifar100, cifar100_coarse, mnist, "
                                        "fashion_mnist, got 'imagenet'"),
        ("data", "url", "", "data.url must be empty (the dataset's official location) or a non-empty string, got ''"),
        ("train", "model", "resnet", "train.model must be one of tutorial_cnn, wide_cnn, top_down, got 'resnet'"),
        ("train", "width", 0, "train.width must be a number > 0, got 0"),
        ("train", "epochs", 0, "train.epochs must be an integer of at least 1, got 0"),
        ("train", "epochs", 2.0, "train.epochs must be an integer of at least 1, got 2.0"),
        ("train", "pack_size", "big", "train.pack_size must be 'auto' or an integer of at least 1, got 'big'"),
        ("train", "precision", "fp8", "train.precision must be one of float32, mixed_bfloat16, got 'fp8'"),
        ("train", "learning_rate", -1, "train.learning_rate must be a number > 0, got -1"),
        ("train", "backend", "numpy", "train.backend must be one of auto, tensorflow, jax, torch, got 'numpy'"),
        ("train", "device", "tpu", "train.device must be one of auto, gpu, cpu, got 'tpu'"),
        ("train", "executor", "slurm", "train.executor must be one of local, ray, got 'slurm'"),
        ("train", "eval_every", -1, "train.eval_every must be an integer of at least 0, got -1"),
        ("train", "schedule", {"corrupt_until": 5}, "train.schedule must be a mapping {corrupt_from: an integer >= 0, "
                                                    "corrupt_until: empty (to the end) or an integer > corrupt_from}"),
        ("train", "schedule", {"corrupt_from": 4, "corrupt_until": 4}, "train.schedule must be a mapping"),
        ("train", "schedule", {"corrupt_from": -1, "corrupt_until": None}, "train.schedule must be a mapping"),
        ("train", "schedule", {"corrupt_from": 0, "corrupt_until": 2.5}, "train.schedule must be a mapping"),
        ("stats", "alpha", 2.0, "stats.alpha must be a number in (0, 1), got 2.0"),
        ("plots", "dpi", 10, "plots.dpi must be an integer from 50 to 600, got 10"),
        ("visualize", "scale", [1.1, 0.9], "visualize.scale must be [low, high] with 0 < low <= high, got [1.1, 0.9]"),
        ("visualize", "parameterization", "wavelet", "visualize.parameterization must be one of pixel, fourier"),
        ("visualize", "channels", 0, "visualize.channels must be 'all' or an integer of at least 1, got 0"),
        ("visualize", "channels", "every", "visualize.channels must be 'all' or an integer of at least 1, got 'every'"),
    ],
)
def test_a_bad_value_names_the_key_and_what_it_must_hold(repo_params, section, key, value, message):
    values = dict(repo_params[section], **{key: value})
    with pytest.raises(ParamsError) as error:
        params.check(section, values)
    assert str(error.value).startswith(message)


@pytest.mark.parametrize("section, key", [("train", "epochs"), ("train", "seed"), ("stats", "bootstrap"),
                                          ("corrupt", "fraction"), ("visualize", "jitter"), ("plots", "dpi")])
def test_booleans_are_never_numbers(repo_params, section, key):
    with pytest.raises(ParamsError, match=f"{section}.{key} must be .*, got True"):
        params.check(section, dict(repo_params[section], **{key: True}))


def test_numbers_are_never_booleans(repo_params):
    with pytest.raises(ParamsError, match="data.verify must be true or false, got 1"):
        params.check("data", dict(repo_params["data"], verify=1))


def test_a_missing_key_says_what_to_set(repo_params):
    values = dict(repo_params["train"])
    del values["epochs"]
    with pytest.raises(ParamsError) as error:
        params.check("train", values)
    assert str(error.value) == "params.yaml has no train.epochs: set it to an integer of at least 1 (passes over " \
                               "the training set)"


def test_an_unknown_key_is_refused(repo_params):
    with pytest.raises(ParamsError, match="params.yaml has an unknown key train.epoch: the train section takes "
                                          "model, width, backend, device, executor, epochs,"):
        params.check("train", dict(repo_params["train"], epoch=3))


@pytest.mark.parametrize(
    "text, message",
    [
        ("train:\n  epochs: 3\n bad: [\n", "params.yaml is not valid YAML at line"),
        ("- a list\n- not sections\n", "params.yaml must be a mapping of sections"),
        ("data:\n  url: x\n  verify: true\n", "params.yaml has no 'train' section"),
        ("train: 3\n", "params.yaml: section 'train' must be a mapping of keys model, width, backend, device,"),
        ("train: {}\ncorupt:\n  trials: 3\n", "params.yaml has an unknown section 'corupt': its sections are data, "
                                               "corrupt, train,"),
    ],
)
def test_a_malformed_file_is_one_error(tmp_path, text, message):
    path = tmp_path / "params.yaml"
    path.write_text(text)
    with pytest.raises(ParamsError) as error:
        params.load("train", path=path)
    assert str(error.value).startswith(message.replace("params.yaml", str(path))) and "\n" not in str(error.value)


def test_a_stage_reports_a_malformed_file_in_one_line(project):
    (project / "params.yaml").write_text("corrupt: {trials: 3\n")
    result = run_module(project, "corrupt")
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: params.yaml is not valid YAML at line 2"), lines


def test_a_stage_reports_a_missing_key_in_one_line(project):
    write_params(project)
    text = (project / "params.yaml").read_text().replace("  clean_trials: 50\n", "")
    (project / "params.yaml").write_text(text)
    result = run_module(project, "corrupt")
    assert result.stderr.strip().splitlines() == [
        "error: params.yaml has no corrupt.clean_trials: set it to an integer of at least 2 (clean baseline models)"]


def test_the_readme_table_is_the_schema():
    assert params.markdown_table() in (REPO / "README.md").read_text()
