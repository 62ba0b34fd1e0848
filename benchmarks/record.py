"""One JSON record per benchmark run, in benchmarks/results/<script>-<UTC timestamp>.json.

A record holds what is needed to read or repeat a number later: the script and its arguments, the package
versions, the device, the git commit (and whether the tree had uncommitted changes) and the measured numbers.
Every script calls `save(__file__, args, results)` at its end.
"""

import importlib.metadata
import json
import os
import platform
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

from lesion.files import atomic_path

RESULTS = Path(__file__).resolve().parent / "results"
REPO = Path(__file__).resolve().parents[1]
PACKAGES = ("numpy", "keras", "tensorflow", "jax", "jaxlib", "torch")


def versions():
    """Python's and every installed package of PACKAGES' version (read from metadata, nothing is imported)."""
    found = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            found[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            pass
    return found


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            names = [line.split(":", 1)[1].strip() for line in f if line.startswith("model name")]
    except OSError:
        names = []
    return names[0] if names else platform.processor() or None


def device():
    """The Keras backend and what it runs on. Only the backend's own library is asked (it is loaded by then)."""
    keras = sys.modules.get("keras")
    backend = keras.backend.backend() if keras is not None else os.environ.get("KERAS_BACKEND", "tensorflow")
    # The load average at the end tells whether other work shared the CPU during the run (1, 5, 15 minutes).
    found = {"keras_backend": backend, "cpu": cpu_model(), "cpu_count": os.cpu_count(),
             "load_average": list(os.getloadavg())}
    if backend == "jax":
        import jax

        found["jax_devices"] = [f"{d.platform}:{d.id} {d.device_kind}" for d in jax.devices()]
    elif backend == "torch":
        import torch

        found["torch_cuda"] = torch.cuda.get_device_name(0) if torch.cuda.is_available() else None
    elif backend == "tensorflow":
        import tensorflow as tf

        found["tensorflow_gpus"] = [gpu.name for gpu in tf.config.list_physical_devices("GPU")]
    return found


def git_state():
    """{commit, dirty} of the repository (dirty: tracked files differ from the commit; untracked files, such as
    new records, do not count), None where git cannot tell (no git, not a checkout)."""
    def git(*command):
        return subprocess.run(["git", *command], cwd=REPO, capture_output=True, text=True, timeout=30,
                              check=True).stdout.strip()

    try:
        dirty = bool(git("status", "--porcelain", "--untracked-files=no"))
        return {"commit": git("rev-parse", "HEAD"), "dirty": dirty}
    except (OSError, subprocess.SubprocessError):
        return {"commit": None, "dirty": None}


def save(script, args, results):
    """Write the record of this run of `script` (a path, usually __file__) and print and return its path.

    `args` is the argparse namespace, `results` a JSON-serializable dict of what the script measured.
    """
    now = datetime.now(timezone.utc)
    name = Path(script).stem
    record = {
        "script": name,
        "args": vars(args),
        "utc": now.isoformat(timespec="seconds"),
        "versions": versions(),
        "device": device(),
        "git": git_state(),
        "results": results,
    }
    path = RESULTS / f"{name}-{now.strftime('%Y%m%dT%H%M%SZ')}.json"
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(record, sort_keys=True, indent=1) + "\n")
    print(f"record: {path.relative_to(REPO) if path.is_relative_to(REPO) else path}", flush=True)
    return path
