"""The MLC-LLM image (docker/): built here and run in each mode against the example project.

The image is built FROM the locally built Debian 12 base (``mlcops/debian12-systemd:current``) as
its Vulkan-only variant (Mesa's lavapipe gives the ``llvmpipe`` device), with host networking and
the host CA bundle passed as a BuildKit secret. Canary values are planted in the secrets (a line
in the CA bundle, a password in a netrc) and searched for in the build log, the image config,
``docker history`` and every byte of ``docker save``.

The example is published with examples/publish.py and cloned with its submodules; the clones are
mounted at /workspace. The image runs as uid 1000: when the tests run as root, the clones and the
ccache directory are chowned to 1000 (so everything the container writes is owned by 1000 and
nothing is root-owned); as any other user, the container runs with ``--user UID:GID`` instead.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.helpers import PROJECT, load_example_publisher

pytestmark = pytest.mark.slow

DOCKER_DIR = PROJECT / "docker"
HOST_CA = Path("/etc/ssl/certs/ca-certificates.crt")
IMAGE_UID = 1000
SOURCE_URL = "https://github.com/mlcops-test/mlc-llm"
VERSION = "0.0.0-test"
BUILD_TIMEOUT = 1800
RUN_TIMEOUT = 1200
RUN_LABEL = "io.mlcops.test-run"
# file:// submodules need protocol.file.allow (git >= 2.38.1); tags come along (no --depth).
CLONE = ["git", "-c", "protocol.file.allow=always", "clone", "-q", "--recursive"]
# As the tests run: root chowns to the image's user, anyone else runs the image as themselves.
AS_ROOT = os.geteuid() == 0
RUN_USER = (
    [] if AS_ROOT or os.geteuid() == IMAGE_UID else ["--user", f"{os.getuid()}:{os.getgid()}"]
)
OWNER_UID = IMAGE_UID if AS_ROOT else os.geteuid()


def buildkit_command() -> tuple[list[str], dict[str, str]]:
    """Return the command line of a BuildKit build and its environment.

    buildx when installed; else a docker client older than 23 (Debian 12's docker.io 20.10,
    /usr/bin/docker) with DOCKER_BUILDKIT=1: newer clients refuse BuildKit without buildx.
    """
    env = dict(os.environ)
    probe = subprocess.run(["docker", "buildx", "version"], capture_output=True, check=False)
    if probe.returncode == 0:
        return ["docker", "buildx", "build", "--load"], env
    env["DOCKER_BUILDKIT"] = "1"
    for client in dict.fromkeys([shutil.which("docker"), "/usr/bin/docker"]):
        if not client or not Path(client).exists():
            continue
        version = subprocess.run(
            [client, "version", "--format", "{{.Client.Version}}"],
            capture_output=True,
            text=True,
            check=False,
        ).stdout.strip()
        if re.match(r"^(1\d|2[0-2])\.", version):
            return [client, "build"], env
    pytest.fail(
        "no docker client can run BuildKit: install buildx, or Debian's docker.io client "
        "(/usr/bin/docker 20.10 has BuildKit built in)"
    )


def docker(*args: str, timeout: float = 300) -> str:
    """Run a docker command that must succeed; return its stdout."""
    proc = subprocess.run(
        ["docker", *args], capture_output=True, text=True, timeout=timeout, check=False
    )
    assert proc.returncode == 0, f"docker {' '.join(args)}: {proc.stderr[-2000:]}"
    return proc.stdout


def chown_tree(path: Path) -> None:
    """Give a directory tree to the image's user (as root), so that the container can write it."""
    if not AS_ROOT:
        return
    for root, dirs, files in os.walk(path):
        for name in [root, *(os.path.join(root, d) for d in dirs)]:
            os.chown(name, IMAGE_UID, IMAGE_UID)
        for name in files:
            os.chown(os.path.join(root, name), IMAGE_UID, IMAGE_UID, follow_symlinks=False)


@dataclass
class Image:
    """The image built for this test run, and how to run it."""

    tag: str
    run_id: str
    revision: str
    base: str
    build_log: str
    canaries: list[str]
    ccache: Path
    containers: list[str] = field(default_factory=list)

    def run(
        self,
        *args: str,
        workspace: Path | None = None,
        stdin: str | None = None,
        env: dict[str, str] | None = None,
    ) -> subprocess.CompletedProcess[str]:
        """docker run --rm --network host [-v WORKSPACE:/workspace] IMAGE ARGS (output merged)."""
        cmd = [
            "docker",
            "run",
            "--rm",
            "--network",
            "host",
            "--label",
            f"{RUN_LABEL}={self.run_id}",
        ]
        cmd += RUN_USER
        if workspace is not None:
            cmd += ["-v", f"{workspace}:/workspace", "-v", f"{self.ccache}:/ccache"]
        for key, value in (env or {}).items():
            cmd += ["-e", f"{key}={value}"]
        if stdin is not None:
            cmd.append("-i")
        cmd += [self.tag, *args]
        return subprocess.run(
            cmd,
            input=stdin,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            timeout=RUN_TIMEOUT,
            check=False,
        )


@pytest.fixture(scope="module")
def image(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Image]:
    """Build the Vulkan-only variant FROM the local Debian 12 base, with canaries in the secrets."""
    from mlcops.local.hosts import BASE_IMAGE_CURRENT, ensure_base_image

    ensure_base_image()
    run_id = uuid.uuid4().hex[:12]
    secrets = tmp_path_factory.mktemp("secrets")
    canaries = [f"mlcops-canary-ca-{uuid.uuid4().hex}", f"mlcops-canary-netrc-{uuid.uuid4().hex}"]
    # PEM readers skip text outside the certificate blocks: the bundle still works for pip.
    ca = secrets / "ca.pem"
    ca.write_text(f"{HOST_CA.read_text()}\n# {canaries[0]}\n")
    netrc = secrets / "netrc"
    netrc.write_text(f"machine pypi.mlcops.invalid login mlcops password {canaries[1]}\n")
    ccache = tmp_path_factory.mktemp("ccache")
    chown_tree(ccache)

    tag = f"mlcops-test/mlc-llm:{run_id}"
    revision = hashlib.sha256(run_id.encode()).hexdigest()[:40]
    builder, env = buildkit_command()
    cmd = [
        *builder,
        "--progress=plain",
        "--network",
        "host",
        "--secret",
        f"id=ca,src={ca}",
        "--secret",
        f"id=netrc,src={netrc}",
        "--build-arg",
        f"BASE_IMAGE={BASE_IMAGE_CURRENT}",
        "--build-arg",
        "VARIANT=vulkan",
        "--build-arg",
        f"VERSION={VERSION}",
        "--build-arg",
        f"REVISION={revision}",
        "--build-arg",
        f"SOURCE_URL={SOURCE_URL}",
        "-t",
        tag,
        "-f",
        str(DOCKER_DIR / "Dockerfile"),
        str(DOCKER_DIR),
    ]
    built = Image(tag, run_id, revision, BASE_IMAGE_CURRENT, "", canaries, ccache)
    try:
        proc = subprocess.run(
            cmd,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            timeout=BUILD_TIMEOUT,
            check=False,
        )
        assert proc.returncode == 0, f"image build failed:\n{proc.stdout[-6000:]}"
        built.build_log = proc.stdout
        # The secret files are used by the build only: they go away with the test.
        ca.unlink()
        netrc.unlink()
        yield built
    finally:
        left = subprocess.run(
            ["docker", "ps", "-aq", "--filter", f"label={RUN_LABEL}={run_id}"],
            capture_output=True,
            text=True,
            check=False,
        ).stdout.split()
        if left:
            subprocess.run(["docker", "rm", "-f", *left], capture_output=True, check=False)
        subprocess.run(["docker", "rmi", "-f", tag], capture_output=True, check=False)


@dataclass
class Example:
    """Clones of the published example: main and the failing-test branch."""

    main: Path
    failing: Path
    describe: str


@pytest.fixture(scope="module")
def example(tmp_path_factory: pytest.TempPathFactory) -> Example:
    """Publish the example and clone it with its submodules, writable by the image's user."""
    publisher = load_example_publisher()
    git_dir = tmp_path_factory.mktemp("git")
    info = publisher.publish(git_dir)
    clones = tmp_path_factory.mktemp("clones")
    paths = {}
    for name, branch in (("main", info["main_branch"]), ("failing", info["failing_branch"])):
        dest = clones / name
        subprocess.run(
            [*CLONE, "--branch", branch, info["url"], str(dest)],
            check=True,
            capture_output=True,
        )
        chown_tree(dest)
        paths[name] = dest
    return Example(paths["main"], paths["failing"], info["describe"])


def pep440(describe: str) -> str:
    """v0.1.0-1-gabc1234 -> 0.1.0.dev1+gabc1234, as version.py stamps it."""
    base, distance, sha = describe.removeprefix("v").split("-")
    return f"{base}.dev{distance}+{sha}"


def test_labels_user_and_entrypoint(image: Image) -> None:
    config = json.loads(docker("image", "inspect", image.tag))[0]["Config"]
    labels = config["Labels"]
    assert labels["org.opencontainers.image.source"] == SOURCE_URL
    assert labels["org.opencontainers.image.version"] == VERSION
    assert labels["org.opencontainers.image.revision"] == image.revision
    assert labels["org.opencontainers.image.title"] == "mlc-llm"
    assert "vulkan" in labels["org.opencontainers.image.description"]
    assert labels["org.opencontainers.image.licenses"] == "Apache-2.0"
    assert labels["org.opencontainers.image.base.name"] == image.base
    assert config["User"] == str(IMAGE_UID)
    assert config["WorkingDir"] == "/workspace"
    assert config["Entrypoint"] == ["/usr/local/bin/mlc-entrypoint"]
    assert config["Cmd"] == ["dev"]


def test_secrets_are_used_and_kept_out_of_the_image(image: Image) -> None:
    # The build read both secrets...
    assert "pip: using the CA bundle from secret 'ca'" in image.build_log
    assert "pip: using credentials from secret 'netrc'" in image.build_log
    # ...and no canary is in its log, config, history or any layer.
    history = docker("history", "--no-trunc", "--format", "{{.CreatedBy}}", image.tag)
    inspect = docker("image", "inspect", image.tag)
    # The RUN that mounts the secrets is in the venv stage: the final image has only its COPY.
    assert "mlc-entrypoint" in history and "/opt/mlc/venv" in history, history
    for canary in image.canaries:
        for where, text in (("build log", image.build_log), ("history", history)):
            assert canary not in text, f"canary in the {where}"
        assert canary not in inspect, "canary in the image config"
    needles = [c.encode() for c in image.canaries]
    keep = max(len(n) for n in needles)
    tail = b""
    total = 0
    with subprocess.Popen(["docker", "save", image.tag], stdout=subprocess.PIPE) as save:
        assert save.stdout is not None
        while chunk := save.stdout.read(1 << 20):
            window = tail + chunk
            found = [n.decode() for n in needles if n in window]
            assert not found, f"{found} in the layers of {image.tag}"
            tail = window[-keep:]
            total += len(chunk)
    assert save.returncode == 0
    assert total > 100 << 20, f"docker save gave only {total} bytes"


def test_build_makes_a_manylinux_wheel_with_sums(image: Image, example: Example) -> None:
    result = image.run("build", workspace=example.main)
    assert result.returncode == 0, result.stdout[-6000:]
    assert "llvmpipe" in result.stdout
    config = (example.main / "build" / "config.cmake").read_text()
    assert "set(USE_VULKAN ON)" in config and "set(USE_CUDA OFF)" in config
    dist = example.main / "dist"
    wheels = sorted(dist.glob("*.whl"))
    assert len(wheels) == 1, sorted(p.name for p in dist.iterdir())
    wheel = wheels[0]
    # The version comes from git describe (version.py --git-describe), the tag from auditwheel.
    assert re.fullmatch(
        re.escape(f"mlc_llm-{pep440(example.describe)}-py3-none-") + r"manylinux_2_\d+_x86_64\.whl",
        wheel.name,
    ), wheel.name
    sums = dict(reversed(line.split()) for line in (dist / "SHA256SUMS").read_text().splitlines())
    assert sums == {wheel.name: hashlib.sha256(wheel.read_bytes()).hexdigest()}
    # The wheel was installed in a clean venv and imported from there.
    assert re.search(
        r"/tmp/mlc-verify\.\w+/venv/lib/python3\.\d+/site-packages/mlc_llm/", result.stdout
    )
    # Everything written into the mounted clone belongs to the image's user, not root.
    for path in (dist, wheel, dist / "SHA256SUMS", example.main / "build"):
        assert path.stat().st_uid == OWNER_UID, path


def test_test_passes_on_main(image: Image, example: Example) -> None:
    result = image.run("test", workspace=example.main)
    assert result.returncode == 0, result.stdout[-6000:]
    assert re.search(r"\d+ passed", result.stdout), result.stdout[-2000:]


def test_test_fails_on_the_failing_branch(image: Image, example: Example) -> None:
    # No build/ in this clone yet: `test` builds first, then pytest fails.
    result = image.run("test", workspace=example.failing)
    assert result.returncode != 0, result.stdout[-4000:]
    assert "test_deliberate_failure FAILED" in result.stdout, result.stdout[-4000:]
    assert "cmake --build build" in result.stdout


def test_dev_prints_the_summary_and_opens_a_shell(image: Image, example: Example) -> None:
    result = image.run("dev", workspace=example.main, stdin="pwd\nid -u\nexit 0\n")
    assert result.returncode == 0, result.stdout
    for item in ("Python", "CMake", "Ninja", "Rust", "gcc", "CUDA", "ROCm", "Vulkan"):
        assert re.search(rf"^\s+{item}\s+\S", result.stdout, re.M), (item, result.stdout)
    assert "llvmpipe" in result.stdout
    assert re.search(r"^\s+CUDA\s+nvcc not found$", result.stdout, re.M)
    lines = result.stdout.splitlines()
    assert lines[-2:] == ["/workspace", str(OWNER_UID)], lines[-5:]
    # The shell's exit status is the container's.
    assert image.run("dev", stdin="exit 3\n").returncode == 3


def test_other_commands_pass_through(image: Image) -> None:
    result = image.run("python3", "-c", "print(1)")
    assert (result.returncode, result.stdout) == (0, "1\n")
    assert image.run("false").returncode == 1


def test_bad_input_is_refused_with_a_clear_message(image: Image, example: Example) -> None:
    result = image.run("build")
    assert result.returncode == 2, result.stdout[-2000:]
    assert "no CMakeLists.txt in /workspace: mount the MLC-LLM checkout there" in result.stdout
    result = image.run("build", workspace=example.main, env={"MLC_BACKENDS": "vulkan,metal"})
    assert result.returncode == 2, result.stdout[-2000:]
    assert "MLC_BACKENDS has metal: Metal is macOS-only" in result.stdout
    result = image.run("build", workspace=example.main, env={"MLC_BACKENDS": "cuda"})
    assert result.returncode == 2, result.stdout[-2000:]
    assert "MLC_BACKENDS has cuda but nvcc is not found" in result.stdout
