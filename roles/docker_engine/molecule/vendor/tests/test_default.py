"""Verify docker_engine's vendor paths against the doubles of Docker's and NVIDIA's repositories.

The doubles' dockerd reads daemon.json as the real one does and reports it on GET /info, and
their nvidia-ctk logs each call: what is checked here is the role's doing, not the doubles'.
"""

import json
from pathlib import Path

import pytest
import yaml

ROLE = Path(__file__).resolve().parents[3]
ROLE_VARS = yaml.safe_load((ROLE / "vars/main.yml").read_text())
SCENARIO = yaml.safe_load((Path(__file__).resolve().parents[1] / "molecule.yml").read_text())
GIVEN = SCENARIO["provisioner"]["inventory"]["group_vars"]["all"]
NVIDIA = ROLE_VARS["__docker_engine_nvidia_runtime_name"]

_INFO_SCRIPT = """
import http.client, socket
class C(http.client.HTTPConnection):
    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX)
        self.sock.connect('/var/run/docker.sock')
c = C('localhost'); c.request('GET', '/info'); print(c.getresponse().read().decode())
"""


@pytest.fixture(scope="module")
def api_info(host):
    """What the running daemon says about itself."""
    return json.loads(host.check_output("python3 -c %s", _INFO_SCRIPT))


@pytest.fixture(scope="module")
def fact(host):
    """docker_engine_info as the role saved it."""
    return json.loads(host.file("/etc/ansible/facts.d/docker_engine.fact").content_string)


@pytest.mark.parametrize("package", ["docker-ce", "docker-ce-cli"])
def test_pinned_engine_installed(host, package):
    """docker_engine_version pins the engine and its CLI."""
    assert host.package(package).version == GIVEN["docker_engine_version"]


@pytest.mark.parametrize(
    "package",
    ROLE_VARS["__docker_engine_ce_packages"]
    + ROLE_VARS["__docker_engine_ce_buildx_packages"]
    + ROLE_VARS["__docker_engine_ce_compose_packages"],
)
def test_docker_packages_installed(host, package):
    """Docker's source installs the engine, containerd.io and both plugin packages."""
    assert host.package(package).is_installed


@pytest.mark.parametrize("package", ROLE_VARS["__docker_engine_conflicts"]["docker"])
def test_distribution_packages_removed(host, package):
    """runc from Debian (installed by prepare) and its kin are removed by the switch."""
    assert not host.package(package).is_installed


def test_docker_source_is_signed_by_its_own_key(host):
    """The key lives in /etc/apt/keyrings and only Docker's source trusts it (signed-by)."""
    key = host.file(f"{ROLE_VARS['__docker_engine_keyring_dir']}/docker.asc")
    assert key.is_file and "BEGIN PGP PUBLIC KEY BLOCK" in key.content_string
    source = host.file(ROLE_VARS["__docker_engine_ce_list"]).content_string
    assert f"signed-by={key.path}" in source
    assert " bookworm stable" in source
    assert not host.file(ROLE_VARS["__docker_engine_plugins_list"]).exists


def test_nvidia_source_is_signed_by_its_own_key(host):
    """NVIDIA's flat repository line, with the architecture the role appended."""
    source = host.file(ROLE_VARS["__docker_engine_nvidia_list"]).content_string
    assert "signed-by=/etc/apt/keyrings/nvidia-container-toolkit.asc" in source
    assert "/libnvidia-container/stable/deb/amd64 /" in source


def test_nvidia_toolkit_pinned(host):
    """docker_engine_nvidia_toolkit_version pins the toolkit."""
    for package in ROLE_VARS["__docker_engine_nvidia_packages"]:
        assert host.package(package).version == GIVEN["docker_engine_nvidia_toolkit_version"]


def test_nvidia_ctk_ran_once(host):
    """nvidia-ctk ran on the first converge only: the idempotence run left daemon.json alone."""
    calls = host.file("/var/log/fake-nvidia-ctk.log").content_string.splitlines()
    assert len(calls) == 1
    assert "--runtime=docker" in calls[0]
    assert "--set-as-default" in calls[0]


def test_daemon_json_keeps_the_runtime(host):
    """The role rewrote daemon.json and kept what nvidia-ctk registered."""
    config = json.loads(host.file("/etc/docker/daemon.json").content_string)
    assert config["runtimes"][NVIDIA]["path"] == "nvidia-container-runtime"
    assert config["default-runtime"] == GIVEN["docker_engine_default_runtime"]
    assert config["log-opts"]["max-size"]


def test_daemon_json_validates(host):
    """The engine's own --validate accepts the file."""
    assert host.run("dockerd --validate --config-file /etc/docker/daemon.json").rc == 0


def test_daemon_was_restarted_with_the_runtime(api_info):
    """The handler restarted the engine after nvidia-ctk: the running daemon knows nvidia."""
    assert NVIDIA in api_info["Runtimes"]
    assert api_info["DefaultRuntime"] == GIVEN["docker_engine_default_runtime"]


def test_fact(fact):
    """docker_engine_info reports the vendor engine, its plugins and the NVIDIA runtime."""
    assert fact["source"] == "docker"
    assert fact["daemon_running"] is True
    assert fact["server_version"] == "28.3.3"
    assert fact["client_version"] == "28.3.3"
    assert fact["buildx_version"] == "0.26.1"
    assert fact["compose_version"] == "2.39.1"
    assert fact["nvidia_runtime"] is True
    assert fact["nvidia_reason"] == "docker_engine_nvidia_runtime=true"
    assert NVIDIA in fact["runtimes"]
    assert fact["default_runtime"] == NVIDIA
