"""`python -m stages.<name> --help`: what a stage reads, writes and which params it takes, from dvc.yaml.

dvc.yaml is the table of contents, so the help is read from it rather than written twice; the params' meanings
come from lesion.params' schema and their values from params.yaml. A stage takes no other arguments: its knobs
are params (`dvc exp run -S key=value`).
"""

import sys
from pathlib import Path

import yaml

from lesion import params
from lesion.errors import ParamsError, UsageError

REPOSITORY_PIPELINE = Path(__file__).resolve().parent.parent / "dvc.yaml"
HELP_FLAGS = ("-h", "--help")


def pipeline_file():
    """The project's dvc.yaml when the stage runs in one, else the repository's own."""
    return Path("dvc.yaml") if Path("dvc.yaml").exists() else REPOSITORY_PIPELINE


def paths(entries):
    """dvc.yaml's list of paths, each a string or a one-key mapping {path: options}."""
    return [entry if isinstance(entry, str) else next(iter(entry)) for entry in entries or []]


def declared_params(entries):
    """dvc.yaml's params of a stage as sections or section.key names; the whole file stands for every section."""
    names = paths(entries)
    return list(params.SCHEMA) if str(params.PARAMS_FILE) in names else names


def param_lines(entries):
    """One line per param key the stage declares (a section stands for all its keys): name, value, meaning."""
    try:
        current = params.read_file()
    except ParamsError:
        current = {}
    lines = []
    for entry in declared_params(entries):
        section, _, key = entry.partition(".")
        for name, (_, meaning) in params.SCHEMA[section].items():
            if key in ("", name):
                value = current.get(section, {}).get(name, "?") if isinstance(current.get(section), dict) else "?"
                lines.append(f"  {section}.{name} = {value!r}: {meaning}")
    return lines


def stage_help(stage, docstring):
    """The help text of `stage`: its docstring's first paragraph, then dvc.yaml's deps, params and outputs."""
    spec = yaml.safe_load(pipeline_file().read_text())["stages"][stage]
    code = [p for p in paths(spec.get("deps")) if p.startswith(("stages/", "lesion"))]
    data = [p for p in paths(spec.get("deps")) if p not in code]
    written = paths(spec.get("outs")) + paths(spec.get("metrics")) + paths(spec.get("plots"))
    sections = [
        f"usage: python -m stages.{stage} [--help]   (or: dvc repro {stage})",
        "",
        (docstring or "").strip().split("\n\n")[0],
        "",
        "reads:", *(f"  {p}" for p in data or ["(nothing: only params)"]),
        "writes:", *(f"  {p}" for p in written),
        "params (set in params.yaml or with dvc exp run -S key=value):", *param_lines(spec.get("params")),
        "code it depends on:", "  " + ", ".join(code),
    ]
    return "\n".join(sections)


def handle_arguments(stage, docstring, argv=None):
    """Print the help and return True on --help; refuse any other argument; False to run the stage."""
    argv = sys.argv[1:] if argv is None else argv
    if not argv:
        return False
    if argv[0] in HELP_FLAGS and len(argv) == 1:
        print(stage_help(stage, docstring))
        return True
    raise UsageError(f"stages.{stage} takes no arguments but --help (got {' '.join(argv)}): set its params in "
                     f"params.yaml or run dvc exp run -S key=value")
