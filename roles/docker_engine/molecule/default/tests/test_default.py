"""Verify the docker_engine role on an unprivileged Debian 12 container host.

Expected values come from the role's own files (defaults, OS vars) and from the scenario's
inventory, which is what the role was given.
"""

import json
from pathlib import Path

import pytest
import yaml

ROLE = Path(__file__).resolve().parents[3]
DEFAULTS = yaml.safe_load((ROLE / "defaults/main.yml").read_text())
OS_VARS = yaml.safe_load((ROLE / "vars/Debian-12.yml").read_text())
ROLE_VARS = yaml.safe_load((ROLE / "vars/main.yml").read_text())
SCENARIO = yaml.safe_load((Path(__file__).resolve().parents[1] / "molecule.yml").read_text())
GIVEN = SCENARIO["provisioner"]["inventory"]["group_vars"]["all"]
DAEMON_JSON = "/etc/docker/daemon.json"


@pytest.fixture(scope="module")
def daemon_json(host):
    """daemon.json as written on the host."""
    return json.loads(host.file(DAEMON_JSON).content_string)


@pytest.fixture(scope="module")
def fact(host):
    """docker_engine_info as the role saved it."""
    return json.loads(host.file("/etc/ansible/facts.d/docker_engine.fact").content_string)


@pytest.fixture(scope="module")
def api_info(host):
    """What the running daemon says about itself (GET /info on its socket)."""
    out = host.check_output("python3 -c %s", _INFO_SCRIPT)
    return json.loads(out)


_INFO_SCRIPT = """
import http.client, socket
class C(http.client.HTTPConnection):
    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX)
        self.sock.connect('/var/run/docker.sock')
c = C('localhost'); c.request('GET', '/info'); print(c.getresponse().read().decode())
"""


@pytest.mark.parametrize(
    "package",
    OS_VARS["__docker_engine_distro_packages"]
    + OS_VARS["__docker_engine_distro_buildx_packages"]
    + OS_VARS["__docker_engine_distro_compose_packages"],
)
def test_distro_packages_installed(host, package):
    """The distro source installs docker.io and both CLI plugins."""
    assert host.package(package).is_installed


@pytest.mark.parametrize("package", ROLE_VARS["__docker_engine_conflicts"]["distro"])
def test_docker_ce_packages_absent(host, package):
    """Docker's own packages would conflict with docker.io."""
    assert not host.package(package).is_installed


def test_only_plugins_come_from_the_next_release(host):
    """The pin admits buildx and compose from trixie and nothing else (docker.io stays 20.10)."""
    policy = host.check_output("apt-cache policy docker.io")
    candidate = next(line for line in policy.splitlines() if "Candidate:" in line)
    assert "20.10." in candidate
    # bookworm's own docker-compose is the Python v1 (1.29); trixie's is compose v2.
    assert host.package("docker-compose").version.startswith("2.")
    assert "trixie" in host.check_output("apt-cache policy docker-buildx")
    pref = host.file(ROLE_VARS["__docker_engine_plugins_pref"]).content_string
    assert "Pin-Priority: -1" in pref
    assert f"Pin: release n={DEFAULTS['docker_engine_distro_plugins_suite']}" in pref


def test_daemon_json_has_the_configured_keys(daemon_json):
    """daemon.json carries exactly what the variables say."""
    assert daemon_json["data-root"] == GIVEN["docker_engine_data_root"]
    assert daemon_json["storage-driver"] == GIVEN["docker_engine_storage_driver"]
    assert daemon_json["log-driver"] == DEFAULTS["docker_engine_log_driver"]
    assert daemon_json["registry-mirrors"] == GIVEN["docker_engine_registry_mirrors"]
    assert daemon_json["insecure-registries"] == GIVEN["docker_engine_insecure_registries"]
    for key, value in GIVEN["docker_engine_daemon_options"].items():
        assert daemon_json[key] == value
    assert "default-runtime" not in daemon_json
    assert "runtimes" not in daemon_json


def test_daemon_json_log_opts_are_strings(daemon_json):
    """dockerd refuses log-opts that are not strings (max-file: 5 would stop it)."""
    assert daemon_json["log-opts"] == {
        "max-size": GIVEN["docker_engine_log_max_size"],
        "max-file": str(GIVEN["docker_engine_log_max_file"]),
    }


def test_daemon_json_validates(host):
    """dockerd >= 23 validates the file; 20.10 cannot, so the running daemon is the check."""
    if "--validate" in host.check_output("dockerd --help"):
        assert host.run(f"dockerd --validate --config-file {DAEMON_JSON}").rc == 0
    else:
        version = host.check_output("dockerd --version")
        assert "version 20." in version
        assert host.service("docker").is_running


def test_service_enabled_and_running(host):
    """The engine starts at boot and runs now."""
    service = host.service("docker")
    assert service.is_enabled
    assert service.is_running


def test_running_daemon_uses_the_configuration(api_info):
    """The daemon read daemon.json: storage driver, data root, mirrors, insecure registries."""
    assert api_info["Driver"] == GIVEN["docker_engine_storage_driver"]
    assert api_info["DockerRootDir"] == GIVEN["docker_engine_data_root"]
    assert api_info["LoggingDriver"] == DEFAULTS["docker_engine_log_driver"]
    mirrors = [m.rstrip("/") for m in api_info["RegistryConfig"]["Mirrors"]]
    assert mirrors == GIVEN["docker_engine_registry_mirrors"]
    assert set(GIVEN["docker_engine_insecure_registries"]) <= set(
        api_info["RegistryConfig"]["IndexConfigs"]
    )


def test_runner_user_reaches_the_daemon(host):
    """Users in docker_engine_users talk to the daemon without sudo."""
    assert "docker" in host.user("ci-runner").groups
    cmd = host.run("runuser -u ci-runner -- docker version --format '{{.Server.Version}}'")
    assert cmd.rc == 0, cmd.stderr
    assert cmd.stdout.startswith("20.10")


def test_other_user_is_kept_out(host):
    """A user not listed is not in the group and is refused by the socket."""
    assert "docker" not in host.user("bystander").groups
    cmd = host.run("runuser -u bystander -- docker version")
    assert cmd.rc != 0
    assert "permission denied" in cmd.stderr


@pytest.mark.parametrize(
    "command,expected",
    [
        ("docker --version", "Docker version 20.10"),
        ("docker buildx version", "buildx"),
        ("docker compose version", "Docker Compose version"),
    ],
)
def test_cli_and_plugins(host, command, expected):
    """The CLI and both plugins answer for the runner user."""
    cmd = host.run(f"runuser -u ci-runner -- {command}")
    assert cmd.rc == 0, cmd.stderr
    assert expected in cmd.stdout


def test_buildx_sees_the_default_builder(host):
    """buildx reaches the daemon's embedded BuildKit through the docker driver."""
    out = host.check_output("runuser -u ci-runner -- docker buildx inspect default")
    assert "Driver:" in out and "docker" in out
    assert "running" in out


def test_fact_matches_the_host(host, fact, api_info):
    """docker_engine_info feeds runner labels and reports: it must match what runs."""
    assert fact["source"] == DEFAULTS["docker_engine_source"]
    assert fact["daemon_running"] is True
    assert fact["daemon_problem"] == ""
    assert fact["in_container"] is True
    assert fact["server_version"] == api_info["ServerVersion"]
    assert fact["storage_driver"] == GIVEN["docker_engine_storage_driver"]
    assert fact["data_root"] == GIVEN["docker_engine_data_root"]
    assert fact["buildx_version"] and fact["buildx_version"] in host.check_output(
        "docker buildx version"
    )
    assert fact["compose_version"]
    assert host.check_output("docker compose version --short").startswith(fact["compose_version"])
    assert fact["users"] == GIVEN["docker_engine_users"]


def test_nvidia_toolkit_skipped_without_gpu(host, fact):
    """auto finds no nvidia-smi here: no toolkit, no NVIDIA repository, no nvidia runtime."""
    assert DEFAULTS["docker_engine_nvidia_runtime"] == "auto"
    assert fact["nvidia_runtime"] is False
    assert "no nvidia-smi" in fact["nvidia_reason"]
    assert "nvidia" not in fact["runtimes"]
    for package in ROLE_VARS["__docker_engine_nvidia_packages"]:
        assert not host.package(package).is_installed
    assert not host.file(ROLE_VARS["__docker_engine_nvidia_list"]).exists
