"""Backend checks: Vulkan and CUDA as configured."""

from __future__ import annotations

import pytest
from mlc_llm import base


@pytest.mark.unittest
def test_vulkan_devices() -> None:
    """Built with Vulkan, at least one physical device is seen (lavapipe on GPU-less hosts)."""
    if "vulkan" not in base.backends():
        assert base.vulkan_device_count() == -1
        pytest.skip("built without Vulkan (USE_VULKAN=OFF)")
    count = base.vulkan_device_count()
    assert count >= 1, "no Vulkan device: install a driver (mesa-vulkan-drivers for lavapipe)"
    assert len(base.vulkan_device_names()) == count


@pytest.mark.unittest
def test_cuda_build(config: dict[str, str]) -> None:
    """Built with CUDA, the compiled architectures are CMAKE_CUDA_ARCHITECTURES."""
    if "cuda" not in base.backends():
        assert base.cuda_archs() == []
        assert base.cuda_device_count() == -1
        pytest.skip("built without CUDA (USE_CUDA=OFF)")
    assert base.cuda_archs()
    if "CMAKE_CUDA_ARCHITECTURES" in config:
        assert base.cuda_archs() == config["CMAKE_CUDA_ARCHITECTURES"].split(";")
    assert base.cuda_device_count() >= 0


@pytest.mark.gpu
def test_gpu_kernel_runs() -> None:
    """Run a CUDA kernel on a real GPU (fails on hosts without one: not in -m unittest)."""
    assert "cuda" in base.backends(), "this test needs a build with USE_CUDA=ON"
    assert base.cuda_device_count() >= 1, "this test needs a CUDA GPU"
    base.cuda_saxpy_check(4096)
