"""Verify the distro path: Debian's CUDA toolkit compiles kernels, and no driver came with it.

Expected values are read from the role's own variables (vars/Debian-12.yml) and from
converge.yml, so that the test follows the role when Debian moves on.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

ROLE = Path(__file__).resolve().parents[3]
OS_VARS: dict[str, Any] = yaml.safe_load((ROLE / "vars/Debian-12.yml").read_text())
ROLE_VARS: dict[str, Any] = yaml.safe_load((ROLE / "vars/main.yml").read_text())
DEFAULTS: dict[str, Any] = yaml.safe_load((ROLE / "defaults/main.yml").read_text())
CONVERGE: dict[str, Any] = yaml.safe_load(
    (Path(__file__).resolve().parents[1] / "converge.yml").read_text()
)[0]["roles"][0]["vars"]

CUDA_VERSION: str = CONVERGE["cuda_version"]
ARCHS: list[str] = CONVERGE["cuda_archs"]
NVCC: str = ROLE_VARS["__cuda_nvcc"]["distro"]
FACTS_FILE: str = DEFAULTS["cuda_facts_file"]
KERNEL = (
    "__global__ void axpy(float a, const float *x, float *y) {\n"
    "  int i = threadIdx.x;\n"
    "  y[i] = a * x[i] + y[i];\n"
    "}\n"
)


@pytest.fixture(scope="module")
def cuda_info(host: Any) -> dict[str, Any]:
    """The facts the role recorded, as later plays read them (ansible_local.cuda)."""
    return json.loads(host.file(FACTS_FILE).content_string)


@pytest.fixture(scope="module")
def kernel_dir(host: Any) -> str:
    """A directory on the host holding a small CUDA kernel."""
    path = "/tmp/cuda-verify"
    host.run_test("mkdir -p %s", path)
    host.run_test("printf '%%s' %s > %s/axpy.cu", KERNEL, path)
    return path


def test_toolkit_package_installed(host: Any) -> None:
    """The distribution's toolkit is installed at the release the role was asked for."""
    for name in OS_VARS["__cuda_distro_packages"]:
        package = host.package(name)
        assert package.is_installed
        assert package.version.split("~")[0].startswith(CUDA_VERSION + ".")


def test_nvcc_reports_requested_release(host: Any) -> None:
    """nvcc on the default PATH is the release the build will get."""
    out = host.check_output("nvcc --version")
    assert f"release {CUDA_VERSION}," in out
    assert host.check_output("command -v nvcc") == NVCC


@pytest.mark.parametrize("arch", ARCHS)
def test_nvcc_compiles_for_requested_arch(host: Any, kernel_dir: str, arch: str) -> None:
    """nvcc compiles device code for each requested architecture without a GPU.

    This needs a host compiler nvcc accepts (Debian's wrapper picks gcc-11) and proves the
    architecture map of the role: the object really holds sm_XY machine code.
    """
    obj = f"{kernel_dir}/axpy_sm{arch}.o"
    host.run_test("nvcc -arch=sm_%s -c %s/axpy.cu -o %s", arch, kernel_dir, obj)
    elf = host.check_output("cuobjdump --list-elf %s", obj)
    assert f"sm_{arch}" in elf


def test_nvcc_emits_ptx(host: Any, kernel_dir: str) -> None:
    """PTX for the lowest requested architecture: what the JIT of a newer GPU would read."""
    ptx = host.check_output("nvcc -arch=sm_%s -ptx %s/axpy.cu -o -", ARCHS[0], kernel_dir)
    assert f".target sm_{ARCHS[0]}" in ptx
    assert ".entry _Z4axpyfPKfPf" in ptx


def test_arch_beyond_the_release_is_refused_by_nvcc(host: Any, kernel_dir: str) -> None:
    """The first architecture the role's map says this release lacks is really refused."""
    supported = DEFAULTS["cuda_supported_archs"][CUDA_VERSION]
    newer = [a for v in DEFAULTS["cuda_supported_archs"].values() for a in v if a not in supported]
    missing = sorted(set(newer), key=int)[0]
    result = host.run("nvcc -arch=sm_%s -c %s/axpy.cu -o /dev/null", missing, kernel_dir)
    assert result.rc != 0
    assert f"sm_{missing}" in result.stderr


def test_facts_recorded(host: Any, cuda_info: dict[str, Any]) -> None:
    """cuda_info says what nvcc says, for the runner labels and mlcops verify."""
    assert cuda_info["source"] == "distro"
    assert cuda_info["version"] == CUDA_VERSION
    assert cuda_info["nvcc"] == NVCC
    assert cuda_info["archs"] == ARCHS
    assert cuda_info["cmake_cuda_architectures"] == ";".join(ARCHS)
    assert set(ARCHS) <= set(cuda_info["archs_supported"])
    assert cuda_info["gcc_major"] <= DEFAULTS["cuda_gcc_max_major"][CUDA_VERSION]
    file = host.file(FACTS_FILE)
    assert file.user == "root"
    assert file.mode == 0o644


def test_gcc_installed(host: Any) -> None:
    """nvcc calls a gcc it accepts; Debian's nvidia-cuda-toolkit 11.8 still needs gcc on PATH."""
    for name in DEFAULTS["cuda_host_compiler_packages"]:
        assert host.package(name).is_installed
    wrapper = ROLE_VARS["__cuda_host_compiler"]["distro"]
    major = int(host.check_output("%s -dumpfullversion", wrapper).split(".")[0])
    assert major <= DEFAULTS["cuda_gcc_max_major"][CUDA_VERSION]


def test_components_source_added(host: Any) -> None:
    """The host had only main: the role added the components that carry the toolkit."""
    source = host.file(OS_VARS["__cuda_distro_source_file"])
    assert source.exists
    assert f"Components: {' '.join(OS_VARS['__cuda_distro_components'])}" in source.content_string
    assert f"Signed-By: {OS_VARS['__cuda_distro_signed_by']}" in source.content_string
    policy = host.check_output("apt-cache policy")
    for component in OS_VARS["__cuda_distro_components"]:
        assert f" bookworm/{component} " in policy


@pytest.mark.parametrize(
    "package", ["nvidia-driver", "nvidia-kernel-dkms", "cuda-drivers", "firmware-misc-nonfree"]
)
def test_driver_not_installed(host: Any, package: str) -> None:
    """No GPU in the container: no driver, no DKMS module, no firmware."""
    assert not host.package(package).is_installed


def test_no_kernel_headers_or_nvidia_smi(host: Any) -> None:
    """Nothing of the driver path ran: no headers for DKMS, no nvidia-smi."""
    assert host.run("dpkg-query -W 'linux-headers-*'").rc != 0
    assert host.run("command -v nvidia-smi").rc != 0


def test_driver_skip_reported(cuda_info: dict[str, Any]) -> None:
    """The facts say why there is no driver, so nobody wonders later."""
    driver = cuda_info["driver"]
    assert driver["present"] is False
    assert driver["gpus"] == []
    assert "container" in driver["skipped_reason"]
    assert driver["reboot_required"] is False


def test_no_nvidia_path_script(host: Any) -> None:
    """The NVIDIA-repository PATH script belongs to the other source only."""
    assert not host.file(ROLE_VARS["__cuda_profile_script"]).exists
