"""Verify the vulkan role's driver choice on a host whose lspci shows an NVIDIA GPU."""

import json
from pathlib import Path

import pytest
import yaml

ROLE = Path(__file__).resolve().parents[3]
OS_VARS = yaml.safe_load((ROLE / "vars/Debian.yml").read_text())


@pytest.fixture(scope="module")
def fact(host):
    """vulkan_info as the role saved it."""
    return json.loads(host.file("/etc/ansible/facts.d/vulkan.fact").content_string)


@pytest.mark.parametrize("package", OS_VARS["__vulkan_mesa_packages"])
def test_mesa_left_out_on_nvidia(host, package):
    """NVIDIA hosts use the driver's ICD: Mesa is not installed, not even as a Recommends."""
    assert not host.package(package).is_installed


@pytest.mark.parametrize(
    "package",
    OS_VARS["__vulkan_loader_packages"]
    + OS_VARS["__vulkan_distro_tool_packages"]
    + OS_VARS["__vulkan_validation_packages"],
)
def test_loader_tools_and_layers_installed(host, package):
    """The loader, the tools and (asked for here) the validation layers are installed."""
    assert host.package(package).is_installed


def test_fact_names_the_gpu_and_no_device(fact):
    """lspci's NVIDIA device is recorded; without NVIDIA's driver Vulkan lists no device."""
    assert fact["gpu_vendors"] == ["nvidia"]
    assert fact["mesa"] is False
    assert fact["devices"] == []
    assert fact["validation_layers"] is True
    assert fact["loader_version"].startswith("1.")


def test_shader_tools_work_without_a_device(host):
    """Build hosts compile shaders without any Vulkan device."""
    host.run(
        "printf '#version 450\\nlayout(local_size_x = 1) in;\\nvoid main() {}\\n' > /tmp/n.comp"
    )
    assert host.run("glslangValidator -V /tmp/n.comp -o /tmp/n.spv").rc == 0
    assert host.run("spirv-val /tmp/n.spv").rc == 0
