"""The toolchain an MLC-LLM build needs is installed, in range, and works."""

import json

import pytest

CMAKE_MIN, CMAKE_MAX = (3, 24), (4, 0)

BUILD_PROBE = r"""
set -e
d=$(mktemp -d)
printf '%s\n' 'cmake_minimum_required(VERSION 3.24)' 'project(probe CXX)' \
  'set(CMAKE_CXX_STANDARD 17)' 'add_executable(probe main.cc)' > $d/CMakeLists.txt
printf '%s\n' '#include <optional>' \
  'int main() { std::optional<int> v = 0; return *v; }' > $d/main.cc
export CCACHE_DIR=$d/cache
cmake -S $d -B $d/build -G Ninja -DCMAKE_CXX_COMPILER_LAUNCHER=ccache >/dev/null
cmake --build $d/build >/dev/null
$d/build/probe
ccache --print-stats | grep -E '^cache_miss\s+1$'
"""

CARGO_PROBE = r"""
set -e
d=$(mktemp -d) && cd $d
cargo new --quiet --vcs none probe && cd probe
cargo build --offline --quiet
./target/debug/probe
"""


def _version(text):
    return tuple(int(p) for p in text.split("."))


@pytest.mark.parametrize(
    "command",
    [
        "git --version",
        "git lfs version",
        "ninja --version",
        "ccache --version",
        "gcc --version",
        "g++ --version",
        "rustc --version",
        "cargo --version",
        "python3 -m venv --help",
        "zstd --version",
    ],
)
def test_tool_runs(host, command):
    """Every tool MLC-LLM's build calls is on PATH for every user."""
    assert host.run(command).rc == 0, command


def test_cmake_in_range(host):
    """CMake is >= 3.24 (MLC-LLM's minimum) and < 4 (CMake 4 breaks older submodules)."""
    fact = json.loads(host.file("/etc/ansible/facts.d/toolchain.fact").content_string)
    installed = host.run("cmake --version").stdout.split()[2]
    assert installed == fact["cmake"]
    assert CMAKE_MIN <= _version(installed)[:2] < CMAKE_MAX


def test_git_lfs_filter_installed_system_wide(host):
    """Clones of MLC-LLM fetch LFS objects without a per-user `git lfs install`."""
    result = host.run("git config --system filter.lfs.process")
    assert result.stdout.strip() == "git-lfs filter-process"


def test_cmake_ninja_ccache_build(host):
    """A C++17 project configures with Ninja, compiles through ccache, and runs."""
    result = host.run(BUILD_PROBE)
    assert result.rc == 0, result.stdout + result.stderr


def test_cargo_builds_a_crate_offline(host):
    """cargo compiles a crate (MLC-LLM's tokenizers are Rust) without network."""
    result = host.run(CARGO_PROBE)
    assert result.rc == 0, result.stderr
    assert "Hello, world!" in result.stdout


def test_pip_trusts_the_extra_ca(host):
    """pip reaches the package index through the TLS-inspecting egress with the extra CA."""
    assert host.file("/usr/local/share/ca-certificates/mlcops-extra-ca.crt").exists
    assert "cert = /etc/ssl/certs/ca-certificates.crt" in host.file("/etc/pip.conf").content_string
    result = host.run("python3 -m pip download --no-deps --quiet -d $(mktemp -d) six")
    assert result.rc == 0, result.stderr


def test_no_proxy_configured_when_none_given(host):
    """A proxy that was not asked for is absent everywhere."""
    assert not host.file("/etc/apt/apt.conf.d/95mlcops-proxy").exists
    assert host.run("git config --system http.proxy").rc != 0
