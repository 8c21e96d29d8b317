"""Bad docker_engine input is refused in one line, naming the variable, before any change."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.helpers import run_role_locally

# A user that no host has: the users check is the last of the pre-flight, so a run that stops
# there passed every check before it (the positive control), without touching this machine.
GHOST = {"docker_engine_users": ["mlcops-no-such-user"]}
GHOST_MESSAGE = "docker_engine_users names users this host does not have (mlcops-no-such-user)"

CASES = [
    pytest.param(
        {"docker_engine_source": "snap"},
        "docker_engine_source must be one of: distro, docker, got: snap",
        id="unknown-source",
    ),
    pytest.param(
        {"docker_engine_registry_mirrors": ["mirror.example.com:5000"]},
        "docker_engine_registry_mirrors entry mirror.example.com:5000 is not a URL",
        id="mirror-not-a-url",
    ),
    pytest.param(
        {
            "docker_engine_registry_mirrors": [
                "https://mirror.example.com",
                "ftp://mirror.example.com",
            ]
        },
        "docker_engine_registry_mirrors entry ftp://mirror.example.com is not a URL",
        id="mirror-wrong-scheme",
    ),
    pytest.param(
        {"docker_engine_log_max_size": "10 MB"},
        "docker_engine_log_max_size=10 MB",
        id="log-size-with-space",
    ),
    pytest.param(
        {"docker_engine_log_max_size": "10"},
        "give a size like 10m, 500k or 1g",
        id="log-size-without-unit",
    ),
    pytest.param(
        {"docker_engine_log_max_file": 0},
        "docker_engine_log_max_file=0",
        id="log-file-count-zero",
    ),
    pytest.param(
        {"docker_engine_insecure_registries": ["http://registry.local:5000"]},
        "docker_engine_insecure_registries entry http://registry.local:5000 is not host[:port]",
        id="insecure-registry-with-scheme",
    ),
    pytest.param(
        {"docker_engine_data_root": "var/lib/docker"},
        "docker_engine_data_root=var/lib/docker is not an absolute path",
        id="relative-data-root",
    ),
    pytest.param(
        {
            "docker_engine_source": "docker",
            "docker_engine_repo_url": "download.docker.com/linux/debian",
        },
        "docker_engine_repo_url=download.docker.com/linux/debian is not a URL",
        id="repo-url-not-a-url",
    ),
    pytest.param(
        {"docker_engine_nvidia_runtime": "maybe"},
        "docker_engine_nvidia_runtime must be one of: auto, true, false, got: maybe",
        id="nvidia-switch-unknown",
    ),
    pytest.param(
        {"docker_engine_nvidia_runtime": False, "docker_engine_default_runtime": "nvidia"},
        "docker_engine_default_runtime=nvidia needs the NVIDIA runtime",
        id="nvidia-default-without-runtime",
    ),
    pytest.param(GHOST, GHOST_MESSAGE, id="user-absent"),
]


@pytest.mark.parametrize(("role_vars", "message"), CASES)
def test_bad_input_is_refused_before_any_change(
    tmp_path: Path, role_vars: dict[str, Any], message: str
) -> None:
    """Each mistake stops the play with one line that names the variable, and nothing changed."""
    result = run_role_locally(tmp_path, "docker_engine", role_vars)
    assert result.rc != 0
    assert message in result.output
    assert "changed=0" in result.output
    assert "TASK [docker_engine : Write" not in result.output
    assert "TASK [docker_engine : Install" not in result.output


@pytest.mark.parametrize(
    "role_vars",
    [
        pytest.param(
            {
                "docker_engine_registry_mirrors": [
                    "https://mirror.example.com:5000",
                    "http://10.0.0.5",
                ],
                "docker_engine_insecure_registries": ["registry.local:5000", "10.0.0.0/8"],
                "docker_engine_log_max_size": "500k",
                "docker_engine_log_max_file": 1,
            },
            id="good-daemon-settings",
        ),
        pytest.param(
            {
                "docker_engine_source": "docker",
                "docker_engine_repo_url": "https://mirror.example.com/docker",
            },
            id="docker-source-with-mirror",
        ),
        pytest.param({"docker_engine_nvidia_runtime": True}, id="nvidia-forced-bool"),
        pytest.param({"docker_engine_nvidia_runtime": "false"}, id="nvidia-off-string"),
    ],
)
def test_good_input_passes_the_checks(tmp_path: Path, role_vars: dict[str, Any]) -> None:
    """Valid values pass every check before the users check (no check refuses everything)."""
    result = run_role_locally(tmp_path, "docker_engine", {**role_vars, **GHOST})
    assert result.rc != 0
    assert GHOST_MESSAGE in result.output
    assert "Validation of arguments failed" not in result.output
    assert result.output.count("FAILED!") == 1
