"""A real OCI registry on 127.0.0.1 standing in for GHCR: Debian's docker-registry (distribution).

TLS with a certificate from a throw-away test CA (SAN IP:127.0.0.1), htpasswd (bcrypt) auth,
storage in a directory. The Docker engine trusts the CA through
``/etc/docker/certs.d/127.0.0.1:PORT/ca.crt`` (written on start, removed on stop). The password
reaches ``htpasswd`` on stdin, never a command line.

Command line (for molecule's prepare; runs until SIGTERM, prints ``READY host:port``)::

    python -m tests.release.registry --dir DIR --user USER   (password on stdin)
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

CERTS_D = Path("/etc/docker/certs.d")


def free_port() -> int:
    """Return a TCP port that is free on 127.0.0.1 now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Registry:
    """A docker-registry process with TLS and htpasswd auth."""

    workdir: Path
    user: str
    password: str = field(repr=False)
    port: int = 0
    process: subprocess.Popen[bytes] | None = None

    @property
    def host(self) -> str:
        """``127.0.0.1:PORT``, the registry part of an image reference."""
        return f"127.0.0.1:{self.port}"

    @property
    def ca_cert(self) -> Path:
        """The test CA's certificate (PEM)."""
        return self.workdir / "ca.crt"

    @property
    def certs_d(self) -> Path:
        """Where the Docker engine looks for this registry's CA."""
        return CERTS_D / self.host

    def _make_tls(self) -> None:
        def openssl(*args: str) -> None:
            subprocess.run(["openssl", *args], check=True, capture_output=True)

        d = self.workdir
        ca_key, key, csr, ext = d / "ca.key", d / "server.key", d / "server.csr", d / "san.ext"
        ca = str(self.ca_cert)
        openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj",
                "/CN=mlcops test registry CA", "-keyout", str(ca_key), "-out", ca)  # fmt: skip
        openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=127.0.0.1",
                "-keyout", str(key), "-out", str(csr))  # fmt: skip
        ext.write_text(
            "subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\n"
        )
        openssl("x509", "-req", "-in", str(csr), "-CA", ca, "-CAkey", str(ca_key),
                "-CAcreateserial", "-days", "2", "-extfile", str(ext),
                "-out", str(d / "server.crt"))  # fmt: skip
        ca_key.unlink()

    def start(self) -> Registry:
        """Write the configuration, trust the CA in Docker, start and wait until it answers."""
        self.workdir.mkdir(parents=True, exist_ok=True)
        os.chmod(self.workdir, 0o700)
        if not self.port:
            self.port = free_port()
        if not self.ca_cert.exists():
            self._make_tls()
        htpasswd = subprocess.run(
            ["htpasswd", "-iBn", self.user],
            input=self.password,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        (self.workdir / "htpasswd").write_text(htpasswd)
        (self.workdir / "storage").mkdir(exist_ok=True)
        config = {
            "version": 0.1,
            "log": {"level": "warn", "accesslog": {"disabled": True}},
            "storage": {
                "filesystem": {"rootdirectory": str(self.workdir / "storage")},
                "delete": {"enabled": True},
            },
            "http": {
                "addr": self.host,
                "tls": {
                    "certificate": str(self.workdir / "server.crt"),
                    "key": str(self.workdir / "server.key"),
                },
            },
            "auth": {"htpasswd": {"realm": "mlcops-test", "path": str(self.workdir / "htpasswd")}},
        }
        (self.workdir / "config.yml").write_text(json.dumps(config))  # YAML is a JSON superset
        self.certs_d.mkdir(parents=True, exist_ok=True)
        shutil.copy(self.ca_cert, self.certs_d / "ca.crt")
        log = (self.workdir / "registry.log").open("wb")
        self.process = subprocess.Popen(
            ["docker-registry", "serve", str(self.workdir / "config.yml")],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + 30
        while self.status() is None:
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(
                    f"docker-registry did not start: {(self.workdir / 'registry.log').read_text()}"
                )
            time.sleep(0.2)
        return self

    def stop(self, *, untrust: bool = True) -> None:
        """Stop the registry (its storage stays); forget the CA in Docker unless told not to."""
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
            self.process = None
        if untrust:
            shutil.rmtree(self.certs_d, ignore_errors=True)

    def __enter__(self) -> Registry:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def _context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=str(self.ca_cert))

    def status(self) -> int | None:
        """The status of ``GET /v2/`` without credentials (401 when up), None when down."""
        try:
            with urllib.request.urlopen(
                f"https://{self.host}/v2/", context=self._context(), timeout=2
            ) as response:
                return int(response.status)
        except urllib.error.HTTPError as err:
            return err.code
        except (OSError, ssl.SSLError):
            return None

    def get(self, path: str) -> Any:
        """GET a registry API path with the credentials; the decoded JSON (None on 404)."""
        request = urllib.request.Request(f"https://{self.host}/v2/{path}")
        token = base64.b64encode(f"{self.user}:{self.password}".encode()).decode()
        request.add_header("Authorization", f"Basic {token}")
        try:
            with urllib.request.urlopen(request, context=self._context(), timeout=10) as response:
                return json.loads(response.read())
        except urllib.error.HTTPError as err:
            if err.code == 404:
                return None
            raise

    def catalog(self) -> list[str]:
        """The repositories that hold at least one tag."""
        names = (self.get("_catalog") or {}).get("repositories") or []
        return [n for n in names if self.tags(n)]

    def tags(self, repository: str) -> list[str]:
        """The tags of a repository (empty when it has none)."""
        return sorted((self.get(f"{repository}/tags/list") or {}).get("tags") or [])


def main(argv: list[str] | None = None) -> int:
    """Run a registry until SIGTERM; the password is read from stdin."""
    parser = argparse.ArgumentParser(prog="python -m tests.release.registry")
    parser.add_argument("--dir", type=Path, required=True)
    parser.add_argument("--user", required=True)
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args(argv)
    registry = Registry(args.dir, args.user, sys.stdin.readline().strip(), args.port)

    def stop(signum: int, frame: Any) -> None:
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, stop)
    registry.start()
    try:
        (args.dir / "server.json").write_text(
            json.dumps({"host": registry.host, "pid": os.getpid()})
        )
        print(f"READY {registry.host}", flush=True)
        while True:
            time.sleep(3600)
    except (SystemExit, KeyboardInterrupt):
        pass
    finally:
        registry.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
