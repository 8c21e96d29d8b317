"""Verify the example project built for Vulkan, tested and packaged by the mlc_llm role.

Checks use the result: the checkout is at the served commit with tags and nested submodules,
config.cmake says what was asked, the libraries load, the JUnit report shows passing tests, the
repaired wheel matches its SHA256SUMS, installs in a fresh venv and finds lavapipe's device.
"""

import os
import xml.etree.ElementTree as ET
from pathlib import Path

import yaml

SCENARIO = yaml.safe_load((Path(__file__).resolve().parents[1] / "molecule.yml").read_text())
VARS = SCENARIO["provisioner"]["inventory"]["group_vars"]["build_hosts"]
WORKSPACE = f"{VARS['mlc_llm_workspace_root']}/{VARS['mlc_llm_ref']}"
SRC = f"{WORKSPACE}/src"
PY = f"{WORKSPACE}/venv/bin/python"


def run(host, command):
    """Run a command on the host; fail with its output when it fails."""
    result = host.run(command)
    assert result.rc == 0, f"{command}: {result.stdout}{result.stderr}"
    return result.stdout.strip()


def test_checkout_has_tags_and_nested_submodules(host):
    describe = run(host, f"git -C {SRC} describe --tags")
    assert describe.startswith("v0.1.0-1-g"), describe
    status = run(host, f"git -C {SRC} submodule status --recursive")
    assert "3rdparty/tvm/3rdparty/dlpack" in status
    assert not [line for line in status.splitlines() if line[:1] in "-+U"], status


def test_config_cmake_says_what_was_asked(host):
    config = host.file(f"{SRC}/build/config.cmake")
    assert "Ansible managed" in config.content_string
    assert "set(USE_VULKAN ON)" in config.content_string
    assert "set(USE_CUDA OFF)" in config.content_string
    assert "set(CMAKE_CXX_COMPILER_LAUNCHER ccache)" in config.content_string


def test_version_is_stamped_from_git_describe(host):
    env = f"PYTHONPATH={SRC}/python"
    version = run(host, f"cd / && {env} {PY} -c 'import mlc_llm; print(mlc_llm.__version__)'")
    assert "dev1" in version or "+g" in version, version


def test_libraries_resolve_every_dependency(host):
    libs = run(host, f"find {SRC}/build -name 'libmlc_llm*.so' -o -name 'libtvm_runtime*.so'")
    assert libs
    assert "not found" not in run(host, f"ldd {' '.join(libs.split())}")


def test_junit_report_shows_passing_unittests(host):
    report = host.file(f"{WORKSPACE}/results/junit.xml")
    suite = ET.fromstring(report.content_string).find("testsuite")
    assert int(suite.get("tests")) > 0
    assert int(suite.get("failures")) == 0 and int(suite.get("errors")) == 0


def test_wheel_matches_its_sums_and_is_manylinux(host):
    wheelhouse = f"{WORKSPACE}/results/wheelhouse"
    run(host, f"cd {wheelhouse} && sha256sum -c SHA256SUMS")
    wheels = run(host, f"ls {wheelhouse}/*.whl").split()
    assert len(wheels) == 1 and "manylinux" in wheels[0], wheels


def test_installed_wheel_finds_the_vulkan_device(host):
    python = f"{WORKSPACE}/results/verify-venv/bin/python"
    code = "import mlc_llm; print(mlc_llm.__file__); print(mlc_llm.backends())"
    out = run(host, f"cd / && {python} -c '{code}'").splitlines()
    assert "/verify-venv/" in out[0]
    assert "vulkan" in out[1]
    count = run(
        host, f"cd / && {python} -c 'import mlc_llm.base as b; print(b.vulkan_device_count())'"
    )
    assert int(count) >= 1


def test_artifacts_reached_the_controller(host):
    artifacts = Path(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"]) / "artifacts" / "main"
    names = sorted(p.name for p in (artifacts / host.backend.get_hostname()).iterdir())
    assert "SHA256SUMS" in names and "junit.xml" in names
    assert [n for n in names if n.endswith(".whl")]
