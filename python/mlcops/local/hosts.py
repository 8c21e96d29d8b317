"""Build the base image and start or remove the local container hosts of an inventory.

The hosts are Docker containers that boot systemd as PID 1, share the host's network
(all test traffic stays on loopback) and are reached by Ansible through the
``community.docker.docker`` connection. Which hosts exist is read from the inventory:
every member of the ``local_containers`` group becomes a container named
``mlcops-<inventory_hostname>``.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import time
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import docker
import docker.errors

from mlcops.errors import MlcopsError, UsageError

BASE_IMAGE_REPO = "mlcops/debian12-systemd"
BASE_IMAGE_CURRENT = f"{BASE_IMAGE_REPO}:current"
CONTAINER_PREFIX = "mlcops-"
LOCAL_GROUP = "local_containers"
LABEL_HOST = "io.mlcops.host"


@dataclass(frozen=True)
class LocalHost:
    """A host of the inventory that runs as a container on this machine."""

    name: str
    container: str


def _recipe() -> bytes:
    return resources.files("mlcops.local").joinpath("base-image.sh").read_bytes()


def base_image_tag() -> str:
    """Return the image tag for the current recipe: a rebuild happens only when it changes."""
    digest = hashlib.sha256(_recipe()).hexdigest()[:12]
    return f"{BASE_IMAGE_REPO}:{digest}"


def _client() -> Any:
    try:
        client = docker.from_env()
        client.ping()
    except docker.errors.DockerException as exc:
        raise MlcopsError(
            "the Docker engine is not reachable; start it (make docker-engine, or `dockerd &`) "
            f"and check DOCKER_HOST: {exc}"
        ) from exc
    return client


def ensure_base_image(*, mirror: str | None = None) -> str:
    """Build the base image unless an image of the current recipe exists; return its tag.

    Also points ``mlcops/debian12-systemd:current`` at it, the tag molecule scenarios use.
    """
    client = _client()
    tag = base_image_tag()
    if not client.images.list(name=tag):
        with resources.as_file(resources.files("mlcops.local").joinpath("base-image.sh")) as path:
            cmd = ["bash", str(path), tag]
            if mirror:
                cmd.append(mirror)
            result = subprocess.run(cmd, check=False, capture_output=True, text=True)
        if result.returncode != 0:
            tail = "\n".join(result.stderr.strip().splitlines()[-5:])
            raise MlcopsError(f"building the base image {tag} failed:\n{tail}")
    image = client.images.get(tag)
    image.tag(BASE_IMAGE_REPO, "current")
    return tag


def inventory_hosts(inventory: Path) -> list[LocalHost]:
    """Return the members of ``local_containers`` in the inventory, in inventory order."""
    if not inventory.exists():
        raise UsageError(f"--inventory {inventory}: no such file or directory")
    result = subprocess.run(
        ["ansible-inventory", "-i", str(inventory), "--list"],
        check=False,
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        raise UsageError(f"--inventory {inventory} does not parse: {result.stderr.strip()}")
    data: dict[str, Any] = json.loads(result.stdout)
    names: list[str] = list(data.get(LOCAL_GROUP, {}).get("hosts", []))
    return [LocalHost(name, CONTAINER_PREFIX + name) for name in names]


def _wait_booted(container: Any, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    state = ""
    while time.monotonic() < deadline:
        _code, output = container.exec_run(["systemctl", "is-system-running"])
        state = output.decode().strip()
        if state in ("running", "degraded"):
            return
        time.sleep(0.5)
    raise MlcopsError(f"{container.name}: systemd did not finish booting (state {state!r})")


def up(hosts: list[LocalHost], *, image: str | None = None) -> list[str]:
    """Start a container for each host that is not running yet; return the names started."""
    client = _client()
    image = image or ensure_base_image()
    cgroup_v2 = Path("/sys/fs/cgroup/cgroup.controllers").exists()
    started: list[str] = []
    try:
        for host in hosts:
            _start(client, host, image, cgroup_v2=cgroup_v2, started=started)
        for host in hosts:
            _wait_booted(client.containers.get(host.container))
    except docker.errors.APIError as exc:
        raise MlcopsError(f"starting the local hosts failed: {exc.explanation or exc}") from exc
    return started


def _start(
    client: Any,
    host: LocalHost,
    image: str,
    *,
    cgroup_v2: bool,
    started: list[str],
) -> None:
    """Start the host's container, creating it when missing; record it in ``started``."""
    try:
        container = client.containers.get(host.container)
    except docker.errors.NotFound:
        client.containers.run(
            image,
            name=host.container,
            hostname=host.name,
            detach=True,
            network_mode="host",
            tmpfs={"/run": "", "/run/lock": "", "/tmp": "exec"},  # noqa: S108 (in the container)
            volumes={"/sys/fs/cgroup": {"bind": "/sys/fs/cgroup", "mode": "ro"}},
            cgroupns="private" if cgroup_v2 else "host",
            labels={LABEL_HOST: host.name},
            stop_signal="SIGRTMIN+3",
        )
        started.append(host.name)
        return
    if container.status != "running":
        container.start()
        started.append(host.name)


def down(hosts: list[LocalHost] | None = None) -> list[str]:
    """Remove the containers of the given hosts (all mlcops hosts when None)."""
    client = _client()
    if hosts is None:
        containers = client.containers.list(all=True, filters={"label": LABEL_HOST})
    else:
        containers = []
        for host in hosts:
            try:
                containers.append(client.containers.get(host.container))
            except docker.errors.NotFound:
                continue
    for container in containers:
        container.remove(force=True)
    return [str(c.labels.get(LABEL_HOST, c.name)) for c in containers]
