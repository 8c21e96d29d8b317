"""release.yml end to end on the example project: build -> test -> wheel -> image -> release.

The plays run on this controller as a runner runs them (``-i localhost, -c local``). GHCR is a
real registry (Debian's docker-registry, TLS from a test CA, htpasswd auth); GitHub is the fake
in tests/fakes. The tag v0.1.0 is released; v0.2.0 (a tag on the failing-test branch) must be
stopped by its tests before any image or release; a registry that is down must stop the play
before anything is built. Every output, artifact and Docker configuration is searched for the
planted canary secrets.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
import tempfile
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.release.conftest import GITHUB_REPO, REGISTRY_USER, Release, Run

pytestmark = pytest.mark.slow

TAG = "v0.1.0"
IMAGE = "mlcops-test/mlc-llm"
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def fetch(url: str) -> bytes:
    with _OPENER.open(url, timeout=30) as response:
        return bytes(response.read())


def recap_ok(run: Run) -> bool:
    return run.rc == 0 and re.search(r"failed=[1-9]", run.output) is None


@pytest.fixture(scope="module")
def published(release: Release) -> Iterator[tuple[Run, Run]]:
    """Release v0.1.0, then run the very same release again."""
    first = release.play(mlc_llm_ref=TAG)
    assert recap_ok(first), first.output[-8000:]
    second = release.play(mlc_llm_ref=TAG)
    assert recap_ok(second), second.output[-8000:]
    yield first, second


def the_release(release: Release, tag: str) -> dict:
    found = [r for r in release.github.releases(GITHUB_REPO) if r["tag_name"] == tag]
    assert len(found) == 1, found
    return found[0]


def test_release_is_published_with_wheels_sums_and_notes(
    release: Release, published: tuple[Run, Run]
) -> None:
    """The tag's release is public, not a pre-release, and carries exactly wheel + SHA256SUMS."""
    rel = the_release(release, TAG)
    assert not rel["draft"] and not rel["prerelease"]
    names = sorted(a["name"] for a in rel["assets"])
    assert len(names) == 2 and "SHA256SUMS" in names, names
    wheel = next(a for a in rel["assets"] if a["name"].endswith(".whl"))
    assert wheel["name"].startswith("mlc_llm-0.1.0-py3-none-manylinux_"), wheel["name"]
    sums_asset = next(a for a in rel["assets"] if a["name"] == "SHA256SUMS")
    sums = dict(
        reversed(line.split())
        for line in fetch(sums_asset["browser_download_url"]).decode().splitlines()
    )
    data = fetch(wheel["browser_download_url"])
    assert sums == {wheel["name"]: hashlib.sha256(data).hexdigest()}
    assert wheel["digest"] == f"sha256:{hashlib.sha256(data).hexdigest()}"
    # The notes are the commits up to the tag (the first tag: all of them).
    tagged = release.example.info["commits"]["tag"][:7]
    assert rel["body"].startswith("## Changes\n\n- "), rel["body"]
    assert f"({tagged})" in rel["body"]


def test_rerun_creates_nothing_and_changes_nothing(
    release: Release, published: tuple[Run, Run]
) -> None:
    """A re-run for the same tag: one release, the same assets, changed=0 on every host."""
    _, second = published
    assert second.changed == 0, second.output[-6000:]
    rel = the_release(release, TAG)
    assert len(rel["assets"]) == 2
    posts = [r for r in release.github.requests if r[0] in ("POST", "PATCH", "DELETE")]
    # One create, two uploads, one publish: all from the first run.
    assert [m for m, _, _ in posts] == ["POST", "POST", "POST", "PATCH"], posts


def test_wheel_from_the_release_installs_and_imports(
    release: Release, published: tuple[Run, Run], tmp_path: Path
) -> None:
    rel = the_release(release, TAG)
    wheel = next(a for a in rel["assets"] if a["name"].endswith(".whl"))
    path = tmp_path / wheel["name"]
    path.write_bytes(fetch(wheel["browser_download_url"]))
    subprocess.run([sys.executable, "-m", "venv", str(tmp_path / "venv")], check=True)
    python = str(tmp_path / "venv/bin/python")
    subprocess.run(
        [python, "-m", "pip", "install", "-q", "--no-index", "--no-deps", str(path)],
        check=True,
        capture_output=True,
    )
    out = subprocess.run(
        [python, "-c", "import mlc_llm; print(mlc_llm.__file__)"],
        cwd="/",
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert out.startswith(str(tmp_path / "venv/lib/")), out


def test_image_is_pushed_with_the_release_tags_and_rebuilds_the_example(
    release: Release, published: tuple[Run, Run], tmp_path: Path
) -> None:
    """The registry has v0.1.0, latest and sha-<7>; the pulled image builds the example."""
    registry = release.registry
    sha = release.example.info["commits"]["tag"][:7]
    assert registry.tags(IMAGE) == sorted([TAG, "latest", f"sha-{sha}"])
    ref = f"{registry.host}/{IMAGE}:{TAG}"
    manifest_digest = re.search(r"@(sha256:[0-9a-f]{64})", published[0].output)
    assert manifest_digest, "the play reports the digest"
    subprocess.run(["docker", "rmi", "-f", ref], capture_output=True, check=False)
    config = Path(tempfile.mkdtemp(prefix="docker-config-", dir=tmp_path))
    env = {**os.environ, "DOCKER_CONFIG": str(config)}
    subprocess.run(
        ["docker", "login", "-u", REGISTRY_USER, "--password-stdin", registry.host],
        input=registry.password,
        text=True,
        env=env,
        check=True,
        capture_output=True,
    )
    pull = subprocess.run(
        ["docker", "pull", ref], env=env, capture_output=True, text=True, check=False
    )
    assert pull.returncode == 0, pull.stderr
    assert manifest_digest.group(1) in pull.stdout
    labels = json.loads(
        subprocess.run(
            ["docker", "image", "inspect", "--format", "{{json .Config.Labels}}", ref],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    )
    assert labels["org.opencontainers.image.version"] == "0.1.0"
    assert labels["org.opencontainers.image.revision"] == release.example.info["commits"]["tag"]
    assert labels["org.opencontainers.image.source"] == f"https://github.com/{GITHUB_REPO}"
    # `docker run IMAGE build` on a clone of the tag, mounted at /workspace (uid 1000 writes it).
    src = tmp_path / "src"
    subprocess.run(
        ["git", "clone", "-q", "--recursive", "--branch", TAG, release.example.url, str(src)],
        check=True,
        capture_output=True,
    )
    if os.geteuid() == 0:
        subprocess.run(["chown", "-R", "1000:1000", str(src)], check=True)
    user = [] if os.geteuid() in (0, 1000) else ["--user", f"{os.getuid()}:{os.getgid()}"]
    run = subprocess.run(
        [
            "docker",
            "run",
            "--rm",
            "--network",
            "host",
            *user,
            "-v",
            f"{src}:/workspace",
            ref,
            "build",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=1200,
        check=False,
    )
    assert run.returncode == 0, run.stdout[-6000:]
    wheels = list((src / "dist").glob("mlc_llm-0.1.0-*.whl"))
    assert len(wheels) == 1, run.stdout[-3000:]


def test_a_failing_test_stops_the_image_and_the_release(
    release: Release, published: tuple[Run, Run]
) -> None:
    """v0.2.0 is a tag on the failing-test branch: no image tag, no release for it."""
    run = release.play(mlc_llm_ref=release.example.failing_tag)
    assert run.rc != 0
    assert "test(s) failed on localhost" in run.output, run.output[-6000:]
    assert "TASK [mlc_llm_image : Build the image]" not in run.output
    assert "TASK [github_release : Create or update" not in run.output
    failing_sha = release.example.info["commits"]["failing_branch"][:7]
    tags = release.registry.tags(IMAGE)
    assert "v0.2.0" not in tags and f"sha-{failing_sha}" not in tags, tags
    assert [r for r in release.github.releases(GITHUB_REPO) if r["tag_name"] == "v0.2.0"] == []
    assert not list((release.artifacts / "v0.2.0").glob("*/*.whl"))


def test_a_registry_that_is_down_stops_the_play_before_anything(
    release: Release, published: tuple[Run, Run]
) -> None:
    """Nothing answers on the registry's address: one clear line, no build, no release."""
    from tests.release.registry import free_port

    down = f"127.0.0.1:{free_port()}"
    run = release.play(
        mlc_llm_ref=TAG, mlc_llm_image_registry=down, github_repo="mlcops-test/registry-down"
    )
    assert run.rc != 0
    assert f"registry {down} is not reachable from localhost" in run.output, run.output[-4000:]
    assert "TASK [mlc_llm :" not in run.output
    assert release.github.releases("mlcops-test/registry-down") == []


def test_no_canary_secret_in_anything_the_runs_wrote(
    release: Release, published: tuple[Run, Run]
) -> None:
    """Token and password never reach logs, artifacts, workspaces or any Docker configuration."""
    needles = [c.encode() for c in release.canaries.all()]
    places = [release.workdir, Path.home() / ".docker", Path("/etc/docker")]
    places += [Path(p) for p in ("/root/.docker",) if os.geteuid() == 0]
    found: list[str] = []
    scanned = 0
    for place in places:
        if not place.exists():
            continue
        for path in [place] if place.is_file() else place.rglob("*"):
            if path.is_file() and not path.is_symlink():
                data = path.read_bytes()
                scanned += 1
                found += [f"{path}" for n in needles if n in data]
    for run in release.runs:
        found += [f"play output {i}" for i, n in enumerate(needles) if n.decode() in run.output]
    # The fake records requests without headers; its state must not hold them either.
    state = json.dumps(release.github.state())
    found += ["fake GitHub state" for n in needles if n.decode() in state]
    history = subprocess.run(
        ["docker", "history", "--no-trunc", f"{release.registry.host}/{IMAGE}:{TAG}"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout
    found += ["image history" for n in needles if n.decode() in history]
    assert scanned > 10, f"only {scanned} files scanned"
    assert release.runs, "no run to scan"
    assert found == []
    # No throw-away Docker configuration was left behind.
    assert not list(Path(tempfile.gettempdir()).glob("mlcops-docker-config.*"))
