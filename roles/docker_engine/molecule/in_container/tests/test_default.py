"""Verify the docker_engine role's container fallback: installed, enabled, reported, not failed."""

import json
from pathlib import Path

import pytest
import yaml

ROLE = Path(__file__).resolve().parents[3]
DEFAULTS = yaml.safe_load((ROLE / "defaults/main.yml").read_text())
OS_VARS = yaml.safe_load((ROLE / "vars/Debian-12.yml").read_text())
ROLE_VARS = yaml.safe_load((ROLE / "vars/main.yml").read_text())


@pytest.fixture(scope="module")
def fact(host):
    """docker_engine_info as the role saved it."""
    return json.loads(host.file("/etc/ansible/facts.d/docker_engine.fact").content_string)


@pytest.mark.parametrize("package", OS_VARS["__docker_engine_distro_packages"])
def test_engine_installed(host, package):
    """The engine is installed even where it cannot run."""
    assert host.package(package).is_installed


@pytest.mark.parametrize(
    "package",
    OS_VARS["__docker_engine_distro_buildx_packages"]
    + OS_VARS["__docker_engine_distro_compose_packages"],
)
def test_plugins_not_installed_when_off(host, package):
    """docker_engine_buildx/compose false install no plugin."""
    assert not host.package(package).is_installed


def test_plugin_suite_not_added_when_plugins_off(host):
    """Without plugins there is no reason to add the next Debian release to APT."""
    assert not host.file(ROLE_VARS["__docker_engine_plugins_list"]).exists
    assert not host.file(ROLE_VARS["__docker_engine_plugins_pref"]).exists


def test_service_enabled_but_not_running(host):
    """Enabled for the day the host runs outside a container; dockerd cannot run in this one."""
    service = host.service("docker")
    assert service.is_enabled
    assert not service.is_running


def test_fact_reports_why(fact):
    """The report says the daemon is down and gives dockerd's own reason."""
    assert fact["daemon_running"] is False
    assert fact["in_container"] is True
    assert "failed to start daemon" in fact["daemon_problem"]
    assert fact["server_version"] == ""
    assert fact["client_version"].startswith("20.10")


def test_daemon_json_holds_the_defaults(host):
    """The defaults alone give log rotation and the data root."""
    config = json.loads(host.file("/etc/docker/daemon.json").content_string)
    assert config == {
        "data-root": DEFAULTS["docker_engine_data_root"],
        "log-driver": DEFAULTS["docker_engine_log_driver"],
        "log-opts": {
            "max-size": DEFAULTS["docker_engine_log_max_size"],
            "max-file": str(DEFAULTS["docker_engine_log_max_file"]),
        },
    }
