"""Where packs run (`train.executor`): this process's devices, or one Ray task per pack on a cluster.

Both run the same lesion.bench.Bench on each pack and hand results back as they finish, so the driver (the train
or evaluate stage) writes the same files either way: the same keys, the same resume after an interruption. Ray
is the engine for a cluster (no scheduler of our own): with `ray`, each pack is a Ray task asking for one GPU (or
one CPU on a CPU-only cluster), retried by Ray if its worker dies; RAY_ADDRESS names an existing cluster, and
without it the stage starts a local one. The lesion package travels with the tasks (a runtime_env py_module), so
every worker runs the driver's code. Ray gives a GPU task a fresh worker process each time (its `max_calls` default
for GPU tasks), so the GPU memory JAX reserves is handed back between packs; CPU workers keep their compiled steps.
"""

import os
import socket
from pathlib import Path

from lesion.backend import device_name, resolve_backend, start_backend, uses_gpu, visible_gpus
from lesion.bench import Bench
from lesion.errors import DeviceError, ParamsError, TrainingError, one_line

RAY_SETUP = "python3 -m pip install -r requirements-ray.txt"
TASK_RETRIES = 3  # a pack whose worker dies (a lost node, a kill) is run again up to this many times


def start_executor(train):
    """The executor `train.executor` names, started: its `params` hold the resolved backend."""
    return RayExecutor(train) if train["executor"] == "ray" else LocalExecutor(train)


def check_kernels(train, devices):
    """The Pallas kernels are JAX's, and a pack using them stays on one device (XLA cannot split their calls)."""
    if train["kernels"] != "pallas":
        return
    if train["backend"] != "jax":
        raise ParamsError(f"train.kernels: pallas runs on the jax backend, not {train['backend']}: set "
                          "train.backend to jax, or train.kernels to xla")
    if devices > 1:
        raise ParamsError(f"train.kernels: pallas trains a pack on one device, and this machine has {devices}: set "
                          "train.kernels to xla to spread packs over all of them, or train.executor to ray")


def start_compute(train):
    """Start the backend train params ask for (lesion.backend.start_backend) at their precision; return the
    backend's name."""
    backend = start_backend(train)
    import keras  # after the backend is chosen

    keras.config.set_dtype_policy(train["precision"])
    return backend


class LocalExecutor:
    """Packs one after another on this process's devices (every local JAX device at once, lesion.model.autodiff)."""

    def __init__(self, train):
        self.params = dict(train, backend=start_compute(train))
        from lesion.model.autodiff import copy_device_count

        self.on_gpu, self.devices = bool(visible_gpus()), copy_device_count()
        check_kernels(self.params, self.devices)
        self.device = device_name() + (f", copies sharded over {self.devices} devices" if self.devices > 1 else "")
        self.bench = Bench(self.params)

    def capacity(self, network, x_train):
        return self.bench.capacity(network, x_train)

    counts_steps = True  # run's on_step is called at every training step

    def run(self, method, jobs, shared, on_step=None):
        """For each (tag, args) of `jobs`, in order, yield (tag, Bench.<method>(*args, *shared)); when training,
        `on_step(tag)` is called at every step."""
        for tag, args in jobs:
            extra = {} if on_step is None else {"on_step": lambda: on_step(tag)}
            yield tag, getattr(self.bench, method)(*args, *shared, **extra)


_worker_bench = None


def run_on_worker(train, method, *args):
    """A Ray task: Bench.<method>(*args) in this worker process. A CPU worker keeps its Bench (and compiled steps)
    for the tasks that follow; a GPU task has a process of its own."""
    global _worker_bench
    if _worker_bench is None:
        start_compute(train)
        _worker_bench = Bench(train)
    return getattr(_worker_bench, method)(*args)


def connect_ray():
    """Ray, connected to RAY_ADDRESS's cluster or to a new local one, with this package shipped to its workers."""
    try:
        import ray
    except ImportError:
        raise ParamsError(f"train.executor is ray but Ray is not installed: {RAY_SETUP}") from None
    if not ray.is_initialized():
        address = os.environ.get("RAY_ADDRESS")
        local = {} if address else {"include_dashboard": False}
        runtime_env = {"py_modules": [str(Path(__file__).parent)]}
        try:
            if address:
                check_reachable(address)
            ray.init(address=address or "local", runtime_env=runtime_env, logging_level="ERROR",
                     log_to_driver=False, **local)
        except (OSError, RuntimeError) as error:
            raise ParamsError(f"cannot connect to the Ray cluster at RAY_ADDRESS={address} ({one_line(error)}): "
                              "start it (ray start --head) or unset RAY_ADDRESS for a local one") from None
    return ray


def check_reachable(address, seconds=5):
    """Fail at once (an OSError) when RAY_ADDRESS's host:port takes no connection: Ray itself retries for minutes."""
    host_port = address.removeprefix("ray://").rsplit(":", 1)
    if len(host_port) == 2 and host_port[1].isdigit():
        socket.create_connection((host_port[0], int(host_port[1])), timeout=seconds).close()


class RayExecutor:
    """One Ray task per pack, at most two per GPU (or CPU) of the cluster in flight; results in any order."""

    devices = 1  # a task trains on one device

    def __init__(self, train):
        self.ray = connect_ray()
        resources = self.ray.cluster_resources()
        gpus, cpus = int(resources.get("GPU", 0)), int(resources.get("CPU", 1))
        if train["device"] == "gpu" and not gpus:
            raise DeviceError("train.device is gpu but the Ray cluster has no GPU: add GPU nodes or set "
                              "train.device to auto or cpu")
        self.on_gpu = uses_gpu(train["device"], gpus > 0)
        self.params = dict(train, backend=resolve_backend(train, gpus > 0))
        check_kernels(self.params, self.devices)
        self.concurrency = gpus if self.on_gpu else cpus  # tasks that run at once
        kinds = sorted(name.split(":", 1)[1] for name in resources if name.startswith("accelerator_type:"))
        self.device = (f"a Ray cluster, {gpus} GPUs" + (f" ({', '.join(kinds)})" if kinds else "") if self.on_gpu
                       else f"a Ray cluster, {cpus} CPUs")
        resource = {"num_gpus": 1, "num_cpus": 0} if self.on_gpu else {"num_cpus": 1}
        # Resources given to ray.remote itself, so that GPU tasks get Ray's max_calls=1 (a fresh worker per pack).
        self.task = self.ray.remote(max_retries=TASK_RETRIES, **resource)(run_on_worker)

    def capacity(self, network, x_train):
        return self.result(self.task.remote(self.params, "capacity", network, x_train), "the memory probe")

    counts_steps = False  # Ray reports no single steps: the caller counts finished packs

    def run(self, method, jobs, shared, on_step=None):
        """For each (tag, args) of `jobs`, yield (tag, Bench.<method>(*args, *shared)) as Ray tasks finish, in any
        order (`on_step` is not called)."""
        shared = [self.ray.put(value) for value in shared]
        jobs, pending = iter(jobs), {}
        while True:
            while len(pending) < 2 * self.concurrency and (job := next(jobs, None)) is not None:
                tag, args = job
                pending[self.task.remote(self.params, method, *args, *shared)] = tag
            if not pending:
                return
            (done,), _ = self.ray.wait(list(pending), num_returns=1)
            tag = pending.pop(done)
            yield tag, self.result(done, tag)

    def result(self, ref, tag):
        """A task's result (`tag` names the job); a task's own error raised as itself, a worker lost at every
        retry as one TrainingError."""
        try:
            return self.ray.get(ref)
        except self.ray.exceptions.RayTaskError as error:
            # The task's own exception, not Ray's wrapper (whose message is the remote traceback).
            raise (error.cause if isinstance(error.cause, Exception) else error) from None
        except self.ray.exceptions.RayError as error:
            raise TrainingError(f"Ray could not run {describe_tag(tag)} ({one_line(error)[:300]}), also not in "
                                f"{TASK_RETRIES} retries: rerun dvc repro (finished packs are kept)") from None


def describe_tag(tag):
    """A job's tag in words: a pack's name, or a description as it is."""
    return tag[0] if isinstance(tag, tuple) else str(tag)


def executor_line(executor):
    """How the stage computes, for its first line: backend, device(s) and precision."""
    return f"{executor.params['backend']}, {executor.device}, {executor.params['precision']}"
