"""The install files agree: the GPU set-up installs the CUDA builds of exactly the versions requirements.txt pins,
and Ray comes only with the Ray and test set-ups."""

from packaging.requirements import Requirement

from tests.conftest import REPO


def requirements(name):
    """{package: [Requirement, ...]} of a requirements file, following its -r includes."""
    found = {}
    for line in (REPO / name).read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line.startswith("-r "):
            for package, entries in requirements(line[3:].strip()).items():
                found.setdefault(package, []).extend(entries)
        elif line and not line.startswith("-"):
            requirement = Requirement(line)
            found.setdefault(requirement.name, []).append(requirement)
    return found


def pinned(entries):
    return {str(entry.specifier) for entry in entries}


def test_the_gpu_set_up_adds_the_cuda_builds_of_the_pinned_versions():
    cpu, gpu = requirements("requirements.txt"), requirements("requirements-gpu.txt")
    for package, extra in (("jax", "cuda12"), ("tensorflow", "and-cuda")):
        assert len(pinned(gpu[package])) == 1 and pinned(gpu[package]) == pinned(cpu[package]), package
        assert any(extra in entry.extras for entry in gpu[package]), package
    assert set(cpu) <= set(gpu)


def test_ray_comes_only_with_the_ray_and_test_set_ups():
    assert "ray" not in requirements("requirements.txt") and "ray" not in requirements("requirements-gpu.txt")
    assert pinned(requirements("requirements-ray.txt")["ray"]) == pinned(requirements("requirements-test.txt")["ray"])
