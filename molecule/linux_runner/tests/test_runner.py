"""A provisioned GPU-less runner can build for CUDA and Vulkan with the full toolchain."""

import json

import pytest

KERNEL = r"""
set -e
d=$(mktemp -d) && cd $d
printf '%s\n' '__global__ void add(float *a, const float *b) {' \
  '  a[threadIdx.x] += b[threadIdx.x];' '}' > k.cu
nvcc -arch=sm_80 -c k.cu -o k.o
test -s k.o
"""


@pytest.mark.parametrize("fact", ["toolchain", "cuda", "vulkan"])
def test_each_role_left_its_local_fact(host, fact):
    """Runner labels and health reports read what each role found from its local fact."""
    facts = host.file(f"/etc/ansible/facts.d/{fact}.fact")
    assert facts.exists
    assert json.loads(facts.content_string)


def test_nvcc_compiles_for_sm_80(host):
    """The CUDA toolkit compiles a kernel for Ampere without a GPU."""
    result = host.run(KERNEL)
    assert result.rc == 0, result.stderr


def test_vulkan_lists_a_device(host):
    """Vulkan works through Mesa's lavapipe on a host without a GPU."""
    result = host.run("vulkaninfo --summary")
    assert result.rc == 0, result.stderr
    assert "llvmpipe" in result.stdout


def test_no_gpu_driver_on_a_gpu_less_host(host):
    """A driver is installed only where a GPU is present."""
    assert not host.package("nvidia-driver").is_installed
    assert not host.package("amdgpu-dkms").is_installed


def test_rocm_not_installed_when_not_asked(host):
    """runner_toolchains decides: no ROCm here."""
    assert not host.exists("hipcc")
