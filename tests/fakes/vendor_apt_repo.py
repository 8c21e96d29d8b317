"""Test double of a vendor's signed apt repository (NVIDIA CUDA, AMD ROCm, LunarG...).

The machines that test this project reach Debian's archive and nothing else, so the roles'
vendor paths (a keyring package or key, a ``signed-by`` apt source, a pinned package) are
exercised against this double: real ``.deb`` packages built with ``dpkg-deb`` from a spec,
indexed with ``apt-ftparchive``, a Release file signed (InRelease and Release.gpg) by a
throw-away GPG key made for the repository, and served over HTTP on 127.0.0.1.

Two layouts, as the vendors publish them:

* ``flat`` (NVIDIA): ``deb [signed-by=KEYRING] URL/ /`` -- Packages and Release next to the
  packages in ``URL``.
* ``dists`` (AMD, most others): ``deb [signed-by=KEYRING] URL SUITE main`` -- packages under
  ``URL/pool/``, indexes under ``URL/dists/SUITE/``.

The spec (YAML, or JSON where PyYAML is missing)::

    layout: flat                     # or dists
    path: compute/cuda/repos/debian12/x86_64   # where the repository lives under the server
    suite: stable                    # dists only (codename defaults to it)
    components: [main]               # dists only
    architectures: [amd64]
    origin: Fake NVIDIA              # Release fields
    label: Fake NVIDIA CUDA
    key:
      uid: "Fake CUDA archive <cuda@fake.invalid>"
      name: cuda-archive-keyring     # served as NAME.gpg (binary) and NAME.asc (armored)
    packages:
      - name: cuda-keyring
        version: 1.1-1
        architecture: all            # default
        depends: [gnupg]             # optional; also pre_depends, provides, conflicts
        description: One line.
        files:                       # path -> text, or {content | source, mode}
          /usr/share/keyrings/cuda-archive-keyring.gpg: {source: key}   # or key-armored
          /etc/apt/sources.list.d/cuda.list: "deb [signed-by=...] @@{url}/ /\\n"
          /usr/local/bin/tool: {content: "#!/bin/sh\\n", mode: "0755"}
        scripts: {postinst: "#!/bin/sh\\n..."}   # optional maintainer scripts

Several repositories can share one key and one server (AMD publishes ``rocm/apt/X`` and
``amdgpu/X/ubuntu`` side by side): list them under ``repositories``, each with its own
``name``, ``layout``, ``path``, ``suite`` and ``packages``; top-level fields are their
defaults.

Text content may use ``@@{url}`` (the package's repository URL, what goes in a sources
list), ``@@{url_NAME}`` (the URL of repository NAME, non-alphanumerics as ``_``),
``@@{server_url}``, ``@@{key_url}`` (armored key), ``@@{key_url_binary}`` and ``@@{suite}``.
Files under ``/etc`` become conffiles, as dpkg-buildpackage makes them.

Command line (the molecule scenarios' prepare and cleanup playbooks)::

    python tests/fakes/vendor_apt_repo.py start --spec SPEC --dir DIR --port PORT
    python tests/fakes/vendor_apt_repo.py stop --dir DIR

``start`` builds when the spec, the URL or this module changed, starts a detached
``http.server`` (its pid in ``DIR/server.pid``, its log in ``DIR/server.log``) and prints
JSON: ``url``, ``key_url``, ``key_path`` and more (see :class:`RepoInfo`). Starting a
running repository is a no-op; ``stop`` on a stopped one too. From pytest, use
:func:`serving` or :func:`start`/:func:`stop`.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import gzip
import hashlib
import json
import os
import shutil
import signal
import socket
import string
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

MODULE_DIGEST = hashlib.sha256(Path(__file__).read_bytes()).hexdigest()
TOOLS = ("gpg", "gpgconf", "dpkg-deb", "apt-ftparchive")
START_TIMEOUT_S = 15.0


class RepoError(RuntimeError):
    """The repository could not be built, started or stopped; the message says why."""


class _Template(string.Template):
    delimiter = "@@"


@dataclasses.dataclass(frozen=True)
class RepoInfo:
    """Where a built (and maybe served) repository is.

    Attributes:
        url: The repository URL as a sources list names it (flat: ``deb URL/ /``,
            dists: ``deb URL SUITE COMPONENT``).
        server_url: ``http://127.0.0.1:PORT``.
        key_url: The armored public key over HTTP.
        key_url_binary: The binary (keyring) public key over HTTP.
        key_path: The armored public key on this machine.
        key_path_binary: The binary public key on this machine (what ``gpgv --keyring`` takes).
        fingerprint: The signing key's fingerprint.
        layout: ``flat`` or ``dists``.
        suite: The suite (dists) or ``/`` (flat).
        components: The components (dists); empty for flat.
        packages: ``{name: version}`` of the packages in the repository.
        files: ``{name: URL}`` of each package's ``.deb``.
        sha256: ``{name: hex digest}`` of each package's ``.deb`` (for checksum options).
        dir: The repository's working directory.
        root: The directory on disk behind ``url``.
        port: The port it is served on.
        repositories: Each repository of the spec (``name``, ``url``, ``layout``, ``suite``,
            ``components``, ``root``, ``packages``, ``files``, ``sha256``); the fields
            above describe the first, and ``packages``/``files``/``sha256`` all of them.
        pid: The server's process id, 0 when not serving.
    """

    url: str
    server_url: str
    key_url: str
    key_url_binary: str
    key_path: str
    key_path_binary: str
    fingerprint: str
    layout: str
    suite: str
    components: list[str]
    packages: dict[str, str]
    files: dict[str, str]
    sha256: dict[str, str]
    dir: str
    root: str
    port: int
    repositories: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    pid: int = 0

    def source_line(self, keyring: str) -> str:
        """Return the one-line apt source for this repository, trusting ``keyring``."""
        if self.layout == "flat":
            return f"deb [signed-by={keyring}] {self.url}/ /"
        return f"deb [signed-by={keyring}] {self.url} {self.suite} {' '.join(self.components)}"


# --------------------------------------------------------------------------- helpers


def _run(
    cmd: list[str],
    *,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
    stdout: Any = subprocess.PIPE,
) -> str:
    try:
        proc = subprocess.run(
            cmd, cwd=cwd, env=env, stdout=stdout, stderr=subprocess.PIPE, text=True, check=False
        )
    except FileNotFoundError as exc:
        raise RepoError(f"{cmd[0]} is missing: install gnupg, dpkg and apt-utils") from exc
    if proc.returncode != 0:
        raise RepoError(f"{' '.join(cmd)} failed ({proc.returncode}): {proc.stderr.strip()}")
    return proc.stdout if isinstance(proc.stdout, str) else ""


def missing_tools() -> list[str]:
    """Return the command-line tools this double needs and this machine lacks."""
    return [tool for tool in TOOLS if shutil.which(tool) is None]


def load_spec(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read a repository spec from a YAML or JSON file."""
    text = Path(path).read_text()
    if Path(path).suffix == ".json":
        spec = json.loads(text)
    else:
        try:
            import yaml
        except ImportError as exc:
            raise RepoError(f"{path}: PyYAML is needed for YAML specs (or write JSON)") from exc
        spec = yaml.safe_load(text)
    if not isinstance(spec, dict):
        raise RepoError(f"{path}: a spec is a mapping with layout, key and packages")
    return spec


def free_port(host: str = "127.0.0.1") -> int:
    """Return a TCP port that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def _port_open(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.2)
        return sock.connect_ex((host, port)) == 0


def _repositories(spec: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The spec's repositories: its own ``repositories`` over its top-level defaults, or itself."""
    if "repositories" not in spec:
        return [dict(spec)]
    defaults = {k: v for k, v in spec.items() if k not in ("repositories", "packages", "key")}
    return [{**defaults, **repo} for repo in spec["repositories"]]


def _identifier(name: str) -> str:
    return "".join(c if c.isalnum() else "_" for c in name)


def _validate(spec: Mapping[str, Any]) -> None:
    repos = _repositories(spec)
    if not repos:
        raise RepoError("the spec lists no repositories")
    paths = [str(r.get("path", "")).strip("/") for r in repos]
    if len(set(paths)) != len(paths):
        raise RepoError(f"two repositories share a path: {paths}")
    for repo in repos:
        layout = repo.get("layout", "flat")
        if layout not in ("flat", "dists"):
            raise RepoError(f"layout must be flat or dists, got {layout!r}")
        if not repo.get("packages"):
            raise RepoError(f"repository {repo.get('path', '')!r}: the spec lists no packages")
        for pkg in repo["packages"]:
            for field in ("name", "version"):
                if not pkg.get(field):
                    raise RepoError(f"package {pkg!r} has no {field}")


# --------------------------------------------------------------------------- keys


def _gpg(home: Path, *args: str, stdout: Any = subprocess.PIPE) -> str:
    return _run(
        [
            "gpg",
            "--homedir",
            str(home),
            "--batch",
            "--yes",
            "--no-tty",
            "--pinentry-mode",
            "loopback",
            "--passphrase",
            "",
            *args,
        ],
        stdout=stdout,
    )


@contextlib.contextmanager
def _gnupg_home() -> Iterator[Path]:
    # Short path: gpg-agent's socket path must stay under the sun_path limit.
    home = Path(tempfile.mkdtemp(prefix="fakerepo-gpg-"))
    try:
        yield home
    finally:
        subprocess.run(
            ["gpgconf", "--homedir", str(home), "--kill", "all"], capture_output=True, check=False
        )
        shutil.rmtree(home, ignore_errors=True)


def _ensure_key(home: Path, keys: Path, uid: str) -> str:
    """Import the repository's key into ``home`` (made on first use); return its fingerprint."""
    secret = keys / "signing-key.secret.asc"
    if secret.is_file() and (keys / "uid").read_text() == uid:
        _gpg(home, "--import", str(secret))
    else:
        _gpg(home, "--quick-generate-key", uid, "ed25519", "sign", "never")
    colons = _gpg(home, "--list-secret-keys", "--with-colons")
    fingerprint = next(
        line.split(":")[9] for line in colons.splitlines() if line.startswith("fpr:")
    )
    keys.mkdir(parents=True, exist_ok=True)
    with open(secret, "w") as out:
        _gpg(home, "--armor", "--export-secret-keys", fingerprint, stdout=out)
    (keys / "uid").write_text(uid)
    return fingerprint


# --------------------------------------------------------------------------- packages


def _deb_filename(pkg: Mapping[str, Any]) -> str:
    version = str(pkg["version"]).split(":", 1)[-1]
    return f"{pkg['name']}_{version}_{pkg.get('architecture', 'all')}.deb"


def _control(pkg: Mapping[str, Any]) -> str:
    fields = {
        "Package": pkg["name"],
        "Version": str(pkg["version"]),
        "Architecture": pkg.get("architecture", "all"),
        "Maintainer": pkg.get("maintainer", "mlcops test double <fake@mlcops.invalid>"),
        "Section": pkg.get("section", "misc"),
        "Priority": "optional",
    }
    for key, field in (
        ("pre_depends", "Pre-Depends"),
        ("depends", "Depends"),
        ("recommends", "Recommends"),
        ("provides", "Provides"),
        ("conflicts", "Conflicts"),
        ("replaces", "Replaces"),
    ):
        if pkg.get(key):
            value = pkg[key]
            fields[field] = ", ".join(value) if isinstance(value, list) else str(value)
    description = pkg.get("description", f"{pkg['name']} (test double)")
    lines = [f"{k}: {v}" for k, v in fields.items()]
    lines.append(f"Description: {description} [test double]")
    return "\n".join(lines) + "\n"


def _file_entries(pkg: Mapping[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    files = pkg.get("files") or {}
    if isinstance(files, list):  # [{path, content|source, mode}]
        return [(str(f["path"]), dict(f)) for f in files]
    return [(str(p), v if isinstance(v, dict) else {"content": v}) for p, v in files.items()]


def _build_deb(
    pkg: Mapping[str, Any],
    out_dir: Path,
    substitutions: Mapping[str, str],
    key_files: Mapping[str, bytes],
) -> Path:
    with tempfile.TemporaryDirectory(prefix="fakerepo-deb-") as tmp:
        root = Path(tmp) / "root"
        debian = root / "DEBIAN"
        debian.mkdir(parents=True)
        conffiles = []
        for path, entry in _file_entries(pkg):
            if not path.startswith("/"):
                raise RepoError(f"{pkg['name']}: file path {path!r} must be absolute")
            target = root / path.lstrip("/")
            target.parent.mkdir(parents=True, exist_ok=True)
            if "source" in entry:
                if entry["source"] not in key_files:
                    raise RepoError(f"{pkg['name']}: {path}: source must be key or key-armored")
                target.write_bytes(key_files[entry["source"]])
            else:
                text = _Template(str(entry.get("content", ""))).safe_substitute(substitutions)
                target.write_text(text)
            target.chmod(int(str(entry.get("mode", "0644")), 8))
            if path.startswith("/etc/"):
                conffiles.append(path)
        (debian / "control").write_text(_control(pkg))
        if conffiles:
            (debian / "conffiles").write_text("\n".join(conffiles) + "\n")
        for script, body in (pkg.get("scripts") or {}).items():
            if script not in ("preinst", "postinst", "prerm", "postrm"):
                raise RepoError(f"{pkg['name']}: unknown maintainer script {script!r}")
            (debian / script).write_text(_Template(body).safe_substitute(substitutions))
            (debian / script).chmod(0o755)
        for directory in [root, *(p for p in root.rglob("*") if p.is_dir())]:
            directory.chmod(0o755)
        out = out_dir / _deb_filename(pkg)
        out.parent.mkdir(parents=True, exist_ok=True)
        _run(["dpkg-deb", "--root-owner-group", "-Zgzip", "--build", str(root), str(out)])
        return out


# --------------------------------------------------------------------------- indexes


def _write_packages(cwd: Path, scan: str, dest: Path, arch: str | None) -> None:
    dest.parent.mkdir(parents=True, exist_ok=True)
    cmd = ["apt-ftparchive", *(["--arch", arch] if arch else []), "packages", scan]
    text = _run(cmd, cwd=cwd)
    dest.write_text(text)
    with gzip.open(dest.with_name(dest.name + ".gz"), "wt") as gz:
        gz.write(text)


def _write_release(cwd: Path, target: str, spec: Mapping[str, Any], suite: str) -> Path:
    options = {
        "Origin": spec.get("origin", "mlcops test double"),
        "Label": spec.get("label", spec.get("origin", "mlcops test double")),
        "Architectures": " ".join(spec.get("architectures", ["amd64"])),
    }
    if spec.get("layout", "flat") == "dists":
        options.update(
            Suite=suite,
            Codename=spec.get("codename", suite),
            Components=" ".join(spec.get("components", ["main"])),
        )
    cmd = ["apt-ftparchive"]
    for field, value in options.items():
        cmd += ["-o", f"APT::FTPArchive::Release::{field}={value}"]
    text = _run([*cmd, "release", target], cwd=cwd)
    release = cwd / target / "Release"
    release.write_text(text)  # written after the scan, so Release does not list itself
    return release


def _sign(home: Path, fingerprint: str, release: Path) -> None:
    for args, name in (
        (["--clearsign"], "InRelease"),
        (["--armor", "--detach-sign"], "Release.gpg"),
    ):
        _gpg(
            home,
            "--local-user",
            fingerprint,
            "--digest-algo",
            "SHA256",
            *args,
            "--output",
            str(release.with_name(name)),
            str(release),
        )


# --------------------------------------------------------------------------- build


def _state_path(directory: Path) -> Path:
    return directory / "state.json"


def _info_from_state(directory: Path) -> RepoInfo | None:
    try:
        state = json.loads(_state_path(directory).read_text())
        return RepoInfo(**state["info"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _digest(spec: Mapping[str, Any], server_url: str) -> str:
    blob = json.dumps({"spec": spec, "url": server_url, "module": MODULE_DIGEST}, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()


def build(
    spec: Mapping[str, Any], directory: str | os.PathLike[str], port: int, host: str = "127.0.0.1"
) -> RepoInfo:
    """Build the repository described by ``spec`` into ``directory`` for ``http://host:port``.

    Nothing is rebuilt when the spec, the URL and this module are unchanged. The signing
    key is kept in ``directory/keys`` and reused, so that hosts that trusted it once keep
    trusting the rebuilt repository.

    Returns:
        Where the repository is (``pid`` 0: not served by this call).

    Raises:
        RepoError: a tool is missing or failed, or the spec is wrong.
    """
    _validate(spec)
    if missing_tools():
        raise RepoError(
            f"missing tools: {', '.join(missing_tools())} (apt-get install gnupg dpkg apt-utils)"
        )
    directory = Path(directory).resolve()
    server_url = f"http://{host}:{port}"
    digest = _digest(spec, server_url)
    try:
        if json.loads(_state_path(directory).read_text()).get("digest") == digest:
            info = _info_from_state(directory)
            if info is not None and Path(info.root).is_dir():
                return info
    except (OSError, ValueError):
        pass

    key_spec = spec.get("key") or {}
    key_name = str(key_spec.get("name", "repo-key"))
    uid = str(key_spec.get("uid", "mlcops fake vendor repository <fake@mlcops.invalid>"))
    www = directory / "www"
    keys = directory / "keys"
    if www.exists():
        shutil.rmtree(www)
    www.mkdir(parents=True)

    repos = []
    for repo_spec in _repositories(spec):
        layout = repo_spec.get("layout", "flat")
        path = str(repo_spec.get("path", "")).strip("/")
        repos.append(
            {
                "spec": repo_spec,
                "name": str(repo_spec.get("name", path.replace("/", "_") or "repo")),
                "layout": layout,
                "suite": str(repo_spec.get("suite", "stable")) if layout == "dists" else "/",
                "components": [str(c) for c in repo_spec.get("components", ["main"])]
                if layout == "dists"
                else [],
                "url": f"{server_url}/{path}" if path else server_url,
                "root": www / path if path else www,
            }
        )
    common = {
        "server_url": server_url,
        "key_url": f"{server_url}/{key_name}.asc",
        "key_url_binary": f"{server_url}/{key_name}.gpg",
        **{"url_" + _identifier(r["name"]): r["url"] for r in repos},
    }

    with _gnupg_home() as home:
        fingerprint = _ensure_key(home, keys, uid)
        armored = _gpg(home, "--armor", "--export", fingerprint)
        with open(keys / f"{key_name}.gpg", "wb") as out:
            _gpg(home, "--export", fingerprint, stdout=out)
        (keys / f"{key_name}.asc").write_text(armored)
        shutil.copy(keys / f"{key_name}.gpg", www / f"{key_name}.gpg")
        shutil.copy(keys / f"{key_name}.asc", www / f"{key_name}.asc")
        key_files = {
            "key": (keys / f"{key_name}.gpg").read_bytes(),
            "key-armored": armored.encode(),
        }
        for repo in repos:
            substitutions = {**common, "url": repo["url"], "suite": repo["suite"]}
            _build_repository(repo, www, server_url, substitutions, key_files)
            _sign(home, fingerprint, repo.pop("release"))

    first = repos[0]
    info = RepoInfo(
        url=first["url"],
        server_url=server_url,
        key_url=common["key_url"],
        key_url_binary=common["key_url_binary"],
        key_path=str(keys / f"{key_name}.asc"),
        key_path_binary=str(keys / f"{key_name}.gpg"),
        fingerprint=fingerprint,
        layout=first["layout"],
        suite=first["suite"],
        components=first["components"],
        packages={k: v for r in repos for k, v in r["packages"].items()},
        files={k: v for r in repos for k, v in r["files"].items()},
        sha256={k: v for r in repos for k, v in r["sha256"].items()},
        dir=str(directory),
        root=str(first["root"]),
        port=port,
        repositories=[
            {k: str(v) if isinstance(v, Path) else v for k, v in r.items() if k != "spec"}
            for r in repos
        ],
    )
    _state_path(directory).write_text(
        json.dumps({"digest": digest, "info": dataclasses.asdict(info)}, indent=2)
    )
    return info


def _build_repository(
    repo: dict[str, Any],
    www: Path,
    server_url: str,
    substitutions: Mapping[str, str],
    key_files: Mapping[str, bytes],
) -> None:
    """Build one repository's packages and indexes; leave its Release path in repo."""
    spec, root, components = repo["spec"], repo["root"], repo["components"]
    root.mkdir(parents=True, exist_ok=True)
    repo.update(packages={}, files={}, sha256={})
    for pkg in spec["packages"]:
        name = str(pkg["name"])
        if repo["layout"] == "dists":
            component = str(pkg.get("component", components[0]))
            if component not in components:
                raise RepoError(f"{name}: component {component!r} not in {components}")
            out_dir = root / "pool" / component / name[0] / name
        else:
            out_dir = root
        deb = _build_deb(pkg, out_dir, substitutions, key_files)
        repo["packages"][name] = str(pkg["version"])
        repo["files"][name] = f"{server_url}/{deb.relative_to(www).as_posix()}"
        repo["sha256"][name] = hashlib.sha256(deb.read_bytes()).hexdigest()
    if repo["layout"] == "flat":
        _write_packages(root, ".", root / "Packages", None)
        repo["release"] = _write_release(root, ".", spec, repo["suite"])
    else:
        suite = repo["suite"]
        for component in components:
            for arch in spec.get("architectures", ["amd64"]):
                dest = root / "dists" / suite / component / f"binary-{arch}" / "Packages"
                _write_packages(root, f"pool/{component}", dest, arch)
        repo["release"] = _write_release(root, f"dists/{suite}", spec, suite)


# --------------------------------------------------------------------------- serve


def _pid_path(directory: Path) -> Path:
    return directory / "server.pid"


def _serving_pid(directory: Path) -> int:
    """Return the pid of this directory's running server, 0 when there is none."""
    try:
        pid = int(_pid_path(directory).read_text().strip())
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except (OSError, ValueError):
        return 0
    www = str(directory / "www").encode()
    return pid if b"http.server" in cmdline and www in cmdline else 0


def start(
    spec: Mapping[str, Any] | str | os.PathLike[str],
    directory: str | os.PathLike[str],
    port: int,
    host: str = "127.0.0.1",
) -> RepoInfo:
    """Build (when needed) and serve the repository in a detached process.

    A repository already served from ``directory`` with the same build is left alone; one
    served with an older build is restarted.

    Returns:
        Where the repository is, with the server's ``pid``.

    Raises:
        RepoError: the build failed, the port is taken, or the server did not come up.
    """
    if not isinstance(spec, Mapping):
        spec = load_spec(spec)
    directory = Path(directory).resolve()
    directory.mkdir(parents=True, exist_ok=True)
    old_state = _state_path(directory).read_text() if _state_path(directory).is_file() else ""
    running = _serving_pid(directory)
    info = build(spec, directory, port, host)
    if running and _state_path(directory).read_text() == old_state and _port_open(host, port):
        return dataclasses.replace(info, pid=running)
    if running:
        stop(directory)
    if _port_open(host, port):
        raise RepoError(f"{host}:{port} is already taken by another process: choose another port")
    log = open(directory / "server.log", "ab")  # noqa: SIM115 - handed to the child
    with log:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "http.server",
                str(port),
                "--bind",
                host,
                "--directory",
                str(directory / "www"),
            ],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            close_fds=True,
        )
    _pid_path(directory).write_text(f"{proc.pid}\n")
    deadline = time.monotonic() + START_TIMEOUT_S
    while not _port_open(host, port):
        if proc.poll() is not None or time.monotonic() > deadline:
            stop(directory)
            tail = (directory / "server.log").read_text(errors="replace")[-2000:]
            raise RepoError(f"the HTTP server on {host}:{port} did not start: {tail.strip()}")
        time.sleep(0.05)
    return dataclasses.replace(info, pid=proc.pid)


def stop(directory: str | os.PathLike[str]) -> bool:
    """Stop the server of ``directory``; return whether one was running."""
    directory = Path(directory).resolve()
    pid = _serving_pid(directory)
    _pid_path(directory).unlink(missing_ok=True)
    if not pid:
        return False
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + 5
    while Path(f"/proc/{pid}").exists() and time.monotonic() < deadline:
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)  # reap it when it is our child
        time.sleep(0.05)
    if Path(f"/proc/{pid}").exists():
        os.kill(pid, signal.SIGKILL)
    return True


def status(directory: str | os.PathLike[str]) -> RepoInfo | None:
    """Return the repository of ``directory`` with its server pid (0: not served), or None."""
    directory = Path(directory).resolve()
    info = _info_from_state(directory)
    return None if info is None else dataclasses.replace(info, pid=_serving_pid(directory))


@contextlib.contextmanager
def serving(
    spec: Mapping[str, Any] | str | os.PathLike[str],
    directory: str | os.PathLike[str],
    port: int | None = None,
) -> Iterator[RepoInfo]:
    """Serve a repository for the duration of a ``with`` block (pytest fixtures)."""
    info = start(spec, directory, port or free_port())
    try:
        yield info
    finally:
        stop(directory)


# --------------------------------------------------------------------------- CLI


def main(argv: list[str] | None = None) -> int:
    """Command line: start, stop, build or status; JSON on stdout, one error line on stderr."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    for name in ("start", "build"):
        cmd = sub.add_parser(name, help=f"{name} the repository")
        cmd.add_argument("--spec", required=True, help="YAML or JSON spec")
        cmd.add_argument("--dir", required=True, help="working directory of this repository")
        cmd.add_argument("--port", required=True, type=int)
        cmd.add_argument("--host", default="127.0.0.1")
    for name in ("stop", "status"):
        cmd = sub.add_parser(name, help=f"{name} the server")
        cmd.add_argument("--dir", required=True)
    args = parser.parse_args(argv)
    try:
        if args.command == "start":
            result: Any = dataclasses.asdict(start(args.spec, args.dir, args.port, args.host))
        elif args.command == "build":
            result = dataclasses.asdict(build(load_spec(args.spec), args.dir, args.port, args.host))
        elif args.command == "stop":
            result = {"stopped": stop(args.dir)}
        else:
            info = status(args.dir)
            result = dataclasses.asdict(info) if info else {"built": False}
    except (RepoError, OSError) as exc:
        print(f"vendor_apt_repo: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(result, indent=2, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
