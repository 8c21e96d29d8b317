"""The vendor apt repository double must be a repository apt really trusts, in both layouts.

The roles' vendor paths (CUDA, ROCm) are only as well tested as this double is real: the
signature must verify with the key it hands out (and fail with any other), apt must accept
the repository through ``signed-by`` and offer the spec's versions, and the packages must
carry the files the spec names, with the served URL filled in.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import shutil
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.fakes import vendor_apt_repo as repo
from tests.helpers import PROJECT

pytestmark = pytest.mark.skipif(
    bool(repo.missing_tools()) or shutil.which("gpgv") is None or shutil.which("apt-get") is None,
    reason=f"needs {', '.join(repo.missing_tools()) or 'gpgv/apt-get'} (make engine installs them)",
)

SCRIPT = PROJECT / "tests/fakes/vendor_apt_repo.py"


def tiny_spec(layout: str) -> dict[str, Any]:
    """A keyring package that points apt at the repository, and a pinned tool with a dependency."""
    source = (
        "deb [signed-by=/usr/share/keyrings/tiny.gpg] @@{url}/ /\n"
        if layout == "flat"
        else "deb [signed-by=/usr/share/keyrings/tiny.gpg] @@{url} @@{suite} main\n"
    )
    return {
        "layout": layout,
        "path": "vendor/repo",
        "suite": "tiny",
        "components": ["main"],
        "origin": "Tiny vendor",
        "key": {"uid": "Tiny vendor <tiny@fake.invalid>", "name": "tiny"},
        "packages": [
            {
                "name": "tiny-keyring",
                "version": "1.0-1",
                "files": {
                    "/usr/share/keyrings/tiny.gpg": {"source": "key"},
                    "/etc/apt/sources.list.d/tiny.list": source,
                },
            },
            {
                "name": "tiny-tool",
                "version": "2:3.4.5-1",
                "architecture": "amd64",
                "depends": ["tiny-lib (>= 3.4)"],
                "files": {
                    "/opt/tiny/bin/tiny": {
                        "content": "#!/bin/sh\necho tiny 3.4.5\n",
                        "mode": "0755",
                    }
                },
            },
            {"name": "tiny-lib", "version": "3.4.5-1", "architecture": "amd64"},
        ],
    }


@pytest.fixture(params=["flat", "dists"], scope="module")
def served(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[repo.RepoInfo]:
    """A tiny repository of each layout, served on a free loopback port."""
    directory = tmp_path_factory.mktemp(f"repo-{request.param}")
    with repo.serving(tiny_spec(request.param), directory) as info:
        yield info


def release_dir(info: repo.RepoInfo) -> Path:
    """The directory that holds Release, InRelease and Release.gpg."""
    return Path(info.root) if info.layout == "flat" else Path(info.root) / "dists" / info.suite


def gpgv(keyring: str, *files: Path) -> subprocess.CompletedProcess[str]:
    """Verify a signature as apt does: gpgv against one keyring file."""
    return subprocess.run(
        ["gpgv", "--keyring", keyring, *map(str, files)],
        capture_output=True,
        text=True,
        check=False,
    )


def parse_packages(text: str) -> dict[str, dict[str, str]]:
    """Parse a Packages index into {name: fields}."""
    packages = {}
    for stanza in text.strip().split("\n\n"):
        fields = dict(line.split(": ", 1) for line in stanza.splitlines() if ": " in line)
        packages[fields["Package"]] = fields
    return packages


def packages_index(info: repo.RepoInfo) -> str:
    """Fetch the (gzipped) Packages index over HTTP, as apt does."""
    path = "Packages.gz" if info.layout == "flat" else "dists/tiny/main/binary-amd64/Packages.gz"
    with urllib.request.urlopen(f"{info.url}/{path}", timeout=5) as resp:
        return gzip.decompress(resp.read()).decode()


def test_release_signatures_verify_with_the_exported_key(served: repo.RepoInfo) -> None:
    """InRelease (clearsigned) and Release.gpg (detached) verify with the handed-out keyring."""
    rel = release_dir(served)
    inline = gpgv(served.key_path_binary, rel / "InRelease")
    assert inline.returncode == 0, inline.stderr
    detached = gpgv(served.key_path_binary, rel / "Release.gpg", rel / "Release")
    assert detached.returncode == 0, detached.stderr
    assert served.fingerprint[-16:] in inline.stderr


def test_tampered_release_fails_verification(served: repo.RepoInfo, tmp_path: Path) -> None:
    """A changed Release no longer verifies: the signature covers what apt trusts."""
    rel = release_dir(served)
    copy = tmp_path / "Release"
    copy.write_text((rel / "Release").read_text().replace("Tiny vendor", "Evil vendor"))
    assert gpgv(served.key_path_binary, rel / "Release.gpg", copy).returncode != 0


def test_served_key_is_the_signing_key(served: repo.RepoInfo, tmp_path: Path) -> None:
    """The key at key_url (armored) and key_url_binary is the one that signed the Release."""
    for url in (served.key_url, served.key_url_binary):
        with urllib.request.urlopen(url, timeout=5) as resp:
            data = resp.read()
        keyring = tmp_path / "served.gpg"
        if data.startswith(b"-----BEGIN PGP PUBLIC KEY BLOCK-----"):
            subprocess.run(
                ["gpg", "--batch", "--yes", "--dearmor", "-o", str(keyring)], input=data, check=True
            )
        else:
            keyring.write_bytes(data)
        assert gpgv(str(keyring), release_dir(served) / "InRelease").returncode == 0


def test_packages_index_lists_the_spec(served: repo.RepoInfo) -> None:
    """Packages names every package of the spec with its version, architecture and depends."""
    packages = parse_packages(packages_index(served))
    assert {name: p["Version"] for name, p in packages.items()} == served.packages
    assert packages["tiny-tool"]["Architecture"] == "amd64"
    assert packages["tiny-tool"]["Depends"] == "tiny-lib (>= 3.4)"
    assert packages["tiny-keyring"]["Architecture"] == "all"
    assert {name: p["SHA256"] for name, p in packages.items()} == served.sha256


def test_package_urls_serve_the_indexed_files(served: repo.RepoInfo) -> None:
    """files[name] is the .deb that Packages indexes: what a role downloads with a checksum."""
    for name, url in served.files.items():
        with urllib.request.urlopen(url, timeout=5) as resp:
            assert hashlib.sha256(resp.read()).hexdigest() == served.sha256[name]


class AptRoot:
    """apt with its own sources, state and cache under a throwaway directory."""

    def __init__(self, base: Path, source_line: str) -> None:
        self.base = base
        for sub in (
            "etc/sources.list.d",
            "etc/preferences.d",
            "etc/trusted.gpg.d",
            "state/lists/partial",
            "cache/archives/partial",
        ):
            (base / sub).mkdir(parents=True, exist_ok=True)
        (base / "etc/sources.list").write_text(source_line + "\n")
        (base / "status").write_text("")

    def options(self) -> list[str]:
        """apt options that keep apt away from this machine's own configuration."""
        b = self.base
        return [
            "-o", f"Dir::Etc::SourceList={b}/etc/sources.list",
            "-o", f"Dir::Etc::SourceParts={b}/etc/sources.list.d",
            "-o", f"Dir::Etc::Preferences={b}/etc/preferences",
            "-o", f"Dir::Etc::PreferencesParts={b}/etc/preferences.d",
            "-o", f"Dir::Etc::Trusted={b}/etc/trusted.gpg",
            "-o", f"Dir::Etc::TrustedParts={b}/etc/trusted.gpg.d",
            "-o", f"Dir::State={b}/state",
            "-o", f"Dir::State::status={b}/status",
            "-o", f"Dir::Cache={b}/cache",
            "-o", "APT::Architecture=amd64",
            "-o", "APT::Sandbox::User=root",
            "-o", "Debug::NoLocking=1",
        ]  # fmt: skip

    def run(self, tool: str, *args: str) -> subprocess.CompletedProcess[str]:
        """Run apt-get or apt-cache against this root."""
        return subprocess.run(
            [tool, *self.options(), *args],
            capture_output=True,
            text=True,
            check=False,
            cwd=self.base,
        )


def test_apt_trusts_the_repository_through_signed_by(served: repo.RepoInfo, tmp_path: Path) -> None:
    """apt-get update accepts the repository and offers the spec's exact versions."""
    apt = AptRoot(tmp_path, served.source_line(served.key_path_binary))
    update = apt.run("apt-get", "update")
    assert update.returncode == 0, update.stdout + update.stderr
    assert "W:" not in update.stderr and "E:" not in update.stderr, update.stderr
    policy = apt.run("apt-cache", "policy", "tiny-tool")
    assert "Candidate: 2:3.4.5-1" in policy.stdout, policy.stdout
    madison = apt.run("apt-cache", "madison", "tiny-lib")
    assert "3.4.5-1" in madison.stdout


def test_apt_refuses_the_repository_with_another_key(served: repo.RepoInfo, tmp_path: Path) -> None:
    """Trusting any other key, apt refuses the repository: the signature is really checked."""
    other = tmp_path / "other"
    with repo.serving(
        tiny_spec("flat") | {"key": {"uid": "Other <o@fake.invalid>", "name": "o"}}, other
    ) as other_info:
        apt = AptRoot(tmp_path / "apt", served.source_line(other_info.key_path_binary))
        update = apt.run("apt-get", "update")
    assert "NO_PUBKEY" in update.stderr or "not signed" in update.stderr, update.stderr
    assert "tiny-tool" not in apt.run("apt-cache", "pkgnames").stdout


def test_package_carries_the_spec_files(served: repo.RepoInfo, tmp_path: Path) -> None:
    """The keyring package holds the key and a sources list that names the served URL."""
    debs = sorted(Path(served.root).rglob("tiny-keyring_1.0-1_all.deb"))
    assert len(debs) == 1
    subprocess.run(["dpkg-deb", "-x", str(debs[0]), str(tmp_path)], check=True)
    assert (tmp_path / "usr/share/keyrings/tiny.gpg").read_bytes() == Path(
        served.key_path_binary
    ).read_bytes()
    listing = (tmp_path / "etc/apt/sources.list.d/tiny.list").read_text()
    assert listing.strip() == served.source_line("/usr/share/keyrings/tiny.gpg")
    conffiles = subprocess.run(
        ["dpkg-deb", "-I", str(debs[0]), "conffiles"], capture_output=True, text=True, check=True
    ).stdout
    assert conffiles.strip() == "/etc/apt/sources.list.d/tiny.list"
    tool = sorted(Path(served.root).rglob("tiny-tool_3.4.5-1_amd64.deb"))[0]
    contents = subprocess.run(
        ["dpkg-deb", "-c", str(tool)], capture_output=True, text=True, check=True
    ).stdout
    assert "-rwxr-xr-x root/root" in contents and "./opt/tiny/bin/tiny" in contents


def test_start_is_idempotent_and_rebuilds_on_change(tmp_path: Path) -> None:
    """start on a running repository is a no-op; a changed spec restarts it with the same key."""
    spec = tiny_spec("flat")
    port = repo.free_port()
    first = repo.start(spec, tmp_path, port)
    try:
        again = repo.start(spec, tmp_path, port)
        assert again.pid == first.pid
        changed = spec | {"packages": [*spec["packages"], {"name": "tiny-extra", "version": "1"}]}
        rebuilt = repo.start(changed, tmp_path, port)
        assert rebuilt.pid != first.pid
        assert rebuilt.fingerprint == first.fingerprint
        assert "tiny-extra" in parse_packages(packages_index(rebuilt))
    finally:
        assert repo.stop(tmp_path) is True
    assert repo.stop(tmp_path) is False
    assert not (tmp_path / "server.pid").exists()


def test_cli_start_and_stop(tmp_path: Path) -> None:
    """The command line the molecule prepare/cleanup playbooks use prints the JSON they read."""
    spec = tmp_path / "spec.json"
    spec.write_text(json.dumps(tiny_spec("dists")))
    port = str(repo.free_port())
    cmd = [sys.executable, str(SCRIPT)]
    args = ["start", "--spec", str(spec), "--dir", str(tmp_path / "r"), "--port", port]
    started = subprocess.run([*cmd, *args], capture_output=True, text=True, check=False)
    try:
        assert started.returncode == 0, started.stderr
        out = json.loads(started.stdout)
        assert out["url"] == f"http://127.0.0.1:{port}/vendor/repo"
        assert Path(out["key_path"]).read_text().startswith("-----BEGIN PGP PUBLIC KEY BLOCK-----")
        with urllib.request.urlopen(out["key_url"], timeout=5) as resp:
            assert resp.read().decode() == Path(out["key_path"]).read_text()
    finally:
        stopped = subprocess.run(
            [*cmd, "stop", "--dir", str(tmp_path / "r")],
            capture_output=True,
            text=True,
            check=False,
        )
    assert json.loads(stopped.stdout) == {"stopped": True}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"layout": "pool"}, "layout must be flat or dists"),
        ({"packages": []}, "no packages"),
        ({"packages": [{"name": "x"}]}, "has no version"),
        (
            {"repositories": [{"path": "a", "packages": [{"name": "x", "version": "1"}]}] * 2},
            "two repositories share a path",
        ),
        (
            {"packages": [{"name": "x", "version": "1", "files": {"rel/path": "x"}}]},
            "must be absolute",
        ),
    ],
)
def test_bad_spec_is_refused(tmp_path: Path, change: dict[str, Any], message: str) -> None:
    """A wrong spec stops the build with a message that names the problem."""
    with pytest.raises(repo.RepoError, match=message):
        repo.build(tiny_spec("flat") | change, tmp_path, 1)


def test_cli_reports_a_taken_port_in_one_line(tmp_path: Path) -> None:
    """A port held by another process: exit code 2 and one line, not a traceback."""
    with repo.serving(tiny_spec("flat"), tmp_path / "a") as info:
        spec = tmp_path / "spec.json"
        spec.write_text(json.dumps(tiny_spec("flat")))
        args = [
            "start",
            "--spec",
            str(spec),
            "--dir",
            str(tmp_path / "b"),
            "--port",
            str(info.port),
        ]
        proc = subprocess.run(
            [sys.executable, str(SCRIPT), *args], capture_output=True, text=True, check=False
        )
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1 and "already taken" in proc.stderr


def test_several_repositories_share_one_key_and_server(tmp_path: Path) -> None:
    """AMD-style: two repositories, one key, one server; a package names the other's URL."""
    spec = {
        "key": {"uid": "Two <two@fake.invalid>", "name": "two"},
        "layout": "dists",
        "suite": "jammy",
        "repositories": [
            {
                "name": "rocm",
                "path": "rocm/apt/6.2",
                "packages": [
                    {
                        "name": "tiny-installer",
                        "version": "6.2-1",
                        "files": {
                            "/etc/apt/sources.list.d/other.list": "deb @@{url_amdgpu} jammy main\n"
                        },
                    }
                ],
            },
            {
                "name": "amdgpu",
                "path": "amdgpu/6.2/ubuntu",
                "packages": [{"name": "tiny-dkms", "version": "1:6.8-1", "architecture": "amd64"}],
            },
        ],
    }
    with repo.serving(spec, tmp_path / "repo") as info:
        assert [r["name"] for r in info.repositories] == ["rocm", "amdgpu"]
        assert info.url == f"{info.server_url}/rocm/apt/6.2"
        assert info.packages == {"tiny-installer": "6.2-1", "tiny-dkms": "1:6.8-1"}
        amdgpu = info.repositories[1]
        sources = "\n".join(
            f"deb [signed-by={info.key_path_binary}] {r['url']} jammy main"
            for r in info.repositories
        )
        apt = AptRoot(tmp_path / "apt", sources)
        update = apt.run("apt-get", "update")
        assert update.returncode == 0, update.stdout + update.stderr
        assert "Candidate: 1:6.8-1" in apt.run("apt-cache", "policy", "tiny-dkms").stdout
        deb = tmp_path / "installer.deb"
        with urllib.request.urlopen(info.files["tiny-installer"], timeout=5) as resp:
            deb.write_bytes(resp.read())
        subprocess.run(["dpkg-deb", "-x", str(deb), str(tmp_path / "x")], check=True)
        listing = (tmp_path / "x/etc/apt/sources.list.d/other.list").read_text()
        assert listing == f"deb {amdgpu['url']} jammy main\n"
