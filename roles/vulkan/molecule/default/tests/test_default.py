"""Verify the vulkan role on a GPU-less Debian host: lavapipe device, shader toolchain, facts."""

import json
from pathlib import Path

import pytest
import yaml

ROLE = Path(__file__).resolve().parents[3]
DEFAULTS = yaml.safe_load((ROLE / "defaults/main.yml").read_text())
OS_VARS = yaml.safe_load((ROLE / "vars/Debian.yml").read_text())

SHADER = """#version 450
layout(local_size_x = 64) in;
layout(std430, binding = 0) buffer Data { float v[]; };
void main() {
    uint i = gl_GlobalInvocationID.x;
    v[i] = v[i] * 2.0;
}
"""


@pytest.fixture(scope="module")
def fact(host):
    """The vulkan_info the role saved as a local fact."""
    return json.loads(host.file("/etc/ansible/facts.d/vulkan.fact").content_string)


@pytest.mark.parametrize(
    "package",
    OS_VARS["__vulkan_loader_packages"]
    + OS_VARS["__vulkan_distro_tool_packages"]
    + OS_VARS["__vulkan_mesa_packages"],
)
def test_package_installed(host, package):
    """Loader, tools and (on a GPU-less host) Mesa are what the Vulkan backend builds with."""
    assert host.package(package).is_installed


@pytest.mark.parametrize("package", OS_VARS["__vulkan_validation_packages"])
def test_validation_layers_absent_by_default(host, package):
    """Validation layers are opt-in (vulkan_validation_layers is false by default)."""
    assert DEFAULTS["vulkan_validation_layers"] is False
    assert not host.package(package).is_installed


def test_loader_recommends_not_pulled(host):
    """The loader is installed without Recommends, so Mesa is there by decision, not by accident."""
    out = host.check_output("apt-mark showauto mesa-vulkan-drivers")
    assert "mesa-vulkan-drivers" not in out


def test_headers_installed(host):
    """libvulkan-dev ships the headers CMake's FindVulkan looks for."""
    assert host.file("/usr/include/vulkan/vulkan.h").is_file


def test_vulkaninfo_lists_llvmpipe_without_xdg_runtime_dir(host):
    """A headless runner has no XDG_RUNTIME_DIR; vulkaninfo must still list lavapipe."""
    cmd = host.run("env -u XDG_RUNTIME_DIR -u DISPLAY vulkaninfo --summary")
    assert cmd.rc == 0, cmd.stderr
    assert "llvmpipe" in cmd.stdout
    assert "PHYSICAL_DEVICE_TYPE_CPU" in cmd.stdout


def test_fact_matches_vulkaninfo(host, fact):
    """vulkan_info feeds runner labels: it must describe the devices vulkaninfo sees."""
    summary = host.check_output("vulkaninfo --summary 2>/dev/null")
    assert fact["source"] == DEFAULTS["vulkan_source"]
    assert fact["mesa"] is True
    assert fact["gpu_vendors"] == []
    assert fact["loader_version"]
    assert f"Vulkan Instance Version: {fact['loader_version']}" in summary
    cpu = [d for d in fact["devices"] if d["type"] == "PHYSICAL_DEVICE_TYPE_CPU"]
    assert cpu, fact["devices"]
    assert cpu[0]["name"].startswith("llvmpipe")
    assert cpu[0]["driver"] == "llvmpipe"
    assert cpu[0]["api_version"].startswith("1.")


def test_fact_glslang_version(host, fact):
    """The recorded glslang version is the one on PATH."""
    out = host.check_output("glslangValidator --version")
    assert fact["glslang_version"]
    assert fact["glslang_version"] in out


def test_compute_shader_compiles_and_validates(host):
    """GLSL compiles to SPIR-V with glslangValidator and spirv-val accepts it (Vulkan 1.1 env)."""
    host.run("rm -rf /tmp/vk-test && mkdir -p /tmp/vk-test")
    host.run(f"cat > /tmp/vk-test/double.comp <<'EOF'\n{SHADER}EOF")
    cmd = host.run("glslangValidator -V /tmp/vk-test/double.comp -o /tmp/vk-test/double.spv")
    assert cmd.rc == 0, cmd.stdout + cmd.stderr
    assert host.file("/tmp/vk-test/double.spv").size > 0
    cmd = host.run("spirv-val --target-env vulkan1.1 /tmp/vk-test/double.spv")
    assert cmd.rc == 0, cmd.stdout + cmd.stderr


def test_broken_shader_is_rejected(host):
    """The compile check can fail: glslangValidator rejects a shader with a type error."""
    host.run("mkdir -p /tmp/vk-test")
    bad = "#version 450\nvoid main() { float x = vec3(1.0); }\n"
    host.run(f"cat > /tmp/vk-test/bad.comp <<'EOF'\n{bad}EOF")
    cmd = host.run("glslangValidator -V /tmp/vk-test/bad.comp -o /tmp/vk-test/bad.spv")
    assert cmd.rc != 0


def test_spirv_val_rejects_garbage(host):
    """The validation check can fail: spirv-val refuses a file that is not SPIR-V."""
    host.run("mkdir -p /tmp/vk-test && head -c 64 /dev/urandom > /tmp/vk-test/garbage.spv")
    assert host.run("spirv-val /tmp/vk-test/garbage.spv").rc != 0
