"""Verify the rocm role's distro path on Debian 12: Debian's hipcc compiles HIP for gfx90a.

Expected values come from the scenario's converge.yml and the role's own vars, so that the
test follows the role when the versions move.
"""

from __future__ import annotations

import json
import shlex
from pathlib import Path

import pytest
import yaml

SCENARIO = Path(__file__).resolve().parents[1]
ROLE = SCENARIO.parents[1]
CONVERGE_VARS = yaml.safe_load((SCENARIO / "converge.yml").read_text())[0]["vars"]
ROLE_VARS = yaml.safe_load((ROLE / "vars/main.yml").read_text())
SHIPPED = ROLE_VARS["__rocm_distro_releases"]["Debian-12"]
USERS = [*CONVERGE_VARS["rocm_users"], CONVERGE_VARS["rocm_runner_user"]]
GROUPS = ROLE_VARS["__rocm_device_groups"]
DRIVER_PACKAGES = ["amdgpu-dkms", "firmware-amd-graphics"]

VECTOR_ADD = r"""
#include <hip/hip_runtime.h>
#include <cstdio>

__global__ void vector_add(const float* a, const float* b, float* c, int n) {
  int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i < n) c[i] = a[i] + b[i];
}

int main() {
  const int n = 1 << 20;
  float *a, *b, *c;
  if (hipMalloc(&a, n * sizeof(float)) != hipSuccess) { std::puts("no GPU"); return 1; }
  hipMalloc(&b, n * sizeof(float));
  hipMalloc(&c, n * sizeof(float));
  hipLaunchKernelGGL(vector_add, dim3(n / 256), dim3(256), 0, 0, a, b, c, n);
  hipDeviceSynchronize();
  hipFree(a); hipFree(b); hipFree(c);
  return 0;
}
"""


def _rocm_fact(host) -> dict:
    return json.loads(host.file("/etc/ansible/facts.d/rocm.fact").content_string)


def test_hipcc_reports_the_distribution_hip(host):
    """`hipcc --version` runs and is Debian's HIP release, the one rocm_version had to match."""
    cmd = host.run("hipcc --version")
    assert cmd.rc == 0, cmd.stderr
    major_minor = ".".join(SHIPPED.split(".")[:2])
    assert f"HIP version: {major_minor}." in cmd.stdout, cmd.stdout


@pytest.mark.parametrize("arch", ["gfx90a"])
def test_vector_add_compiles_for_arch(host, arch):
    """A HIP vector add compiles and links for MI200 without a GPU (the build host's job).

    When the distribution's toolchain cannot, the failure shows hipcc's own reason.
    """
    src = f"/tmp/rocm-verify-{arch}.hip"
    out = f"/tmp/rocm-verify-{arch}"
    host.run(f"rm -f {out} && cat > {src} <<'EOF'\n{VECTOR_ADD}\nEOF")
    cmd = host.run(f"hipcc --offload-arch={shlex.quote(arch)} -o {out} {src}")
    reason = cmd.stderr.strip() or cmd.stdout.strip()
    assert cmd.rc == 0, f"hipcc cannot compile for {arch}: {reason}"
    assert host.file(out).is_file
    # The fat binary carries device code for the requested arch.
    assert host.run(f"grep -c amdgcn-amd-amdhsa--{arch} {out}").stdout.strip() not in ("", "0")


def test_unknown_arch_is_refused(host):
    """The compile check can fail: an arch clang 15 does not know is an error, not a success."""
    probe = "/var/lib/rocm-role/probe.hip"
    cmd = host.run(f"hipcc --offload-arch=gfx942 --cuda-device-only -c -o /dev/null {probe}")
    assert cmd.rc != 0
    assert "gfx942" in cmd.stderr


@pytest.mark.parametrize("user", USERS)
@pytest.mark.parametrize("group", GROUPS)
def test_user_in_device_group(host, user, group):
    """Build and runner users need render and video to open /dev/kfd and /dev/dri on GPU hosts."""
    assert group in host.user(user).groups


def test_render_group_exists(host):
    """The render group is created when the distribution has none (it owns /dev/dri/renderD*)."""
    assert host.group("render").exists


@pytest.mark.parametrize("package", DRIVER_PACKAGES)
def test_no_driver_on_a_gpu_less_host(host, package):
    """No GPU (and a container): the driver and its firmware stay off the host."""
    assert not host.package(package).is_installed


@pytest.mark.parametrize("package", ["hipcc", "rocminfo", "rocm-device-libs", "libamdhip64-dev"])
def test_distribution_packages_installed(host, package):
    """The distribution's ROCm packages are installed at the version rocm_version names."""
    pkg = host.package(package)
    assert pkg.is_installed
    assert pkg.version.startswith(SHIPPED), pkg.version


def test_no_amd_repository(host):
    """The distro path adds no vendor repository, key or pin."""
    for path in (
        "/etc/apt/sources.list.d/rocm.list",
        "/etc/apt/preferences.d/rocm-pin-600",
        "/etc/apt/keyrings/rocm.gpg",
    ):
        assert not host.file(path).exists, path


def test_rocm_info_fact(host):
    """rocm_info says what the host can do: HIP version, no GPU agent, which targets compile."""
    info = _rocm_fact(host)
    assert info["source"] == "distro"
    assert info["version"] == CONVERGE_VARS["rocm_version"]
    assert info["hip_version"].startswith(".".join(SHIPPED.split(".")[:2]) + ".")
    assert "clang version 15" in info["hipcc_version"]
    assert info["rocminfo_present"] is True
    assert info["gpu_agents"] == []
    assert info["gpu_agents_error"]
    assert info["gpu_targets_requested"] == ["gfx90a", "gfx942", "gfx1100"]
    assert info["gpu_targets_supported"] == ["gfx90a"]
    assert set(info["gpu_targets_unsupported"]) == {"gfx942", "gfx1100"}
    # The compiler's own words, one line each.
    assert info["gpu_targets_unsupported"]["gfx942"].startswith(
        "clang: error: invalid target ID 'gfx942'"
    )
    assert "device library for gfx1100" in info["gpu_targets_unsupported"]["gfx1100"]
    assert info["driver_wanted"] is False
    assert info["driver_installed"] is False
