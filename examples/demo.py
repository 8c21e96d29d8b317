"""The whole loop on this machine: local hosts, a release of the example, the two reports.

    .venv/bin/python examples/demo.py [--down] [--full] [-i INVENTORY] [--workdir DIR]

1. Starts what stands in for the outside world on 127.0.0.1: the example project
   (``examples/mini-mlc-llm``) served over git:// by ``examples/publish.py``; a real OCI registry
   standing in for GHCR (Debian's ``docker-registry`` with TLS from a throw-away CA and
   htpasswd auth, ``tests/release/registry.py``); and, unless ``MLCOPS_DEMO_GITHUB_REPO`` names
   a real repository, the GitHub test double (``tests/fakes/github_api.py``).
2. Brings up the local container hosts of the inventory (default ``inventory/local``) and
   provisions them with ``mlcops provision``: as Vulkan build hosts without Docker, unless
   ``--full`` keeps the inventory's own toolchains (CUDA too: slower).
3. Releases tag v0.1.0 of the example with ``mlcops release --ref v0.1.0``: build, test and
   wheel on the local hosts, image built on this machine and pushed to the registry, then the
   GitHub release with the wheels and SHA256SUMS.
4. Prints the health report (``mlcops verify``) and the release report (``mlcops report LAST``).
5. Stops what it started (the hosts stay unless ``--down``), even on failure or Ctrl-C, and
   searches everything the run wrote for the secrets.

Secrets: the registry password and the GitHub double's token are made here, at random, and
reach the release only through its environment (``MLCOPS_REGISTRY_PASSWORD``,
``GITHUB_TOKEN``), never a command line, a file or the output. Exit status: 0 when every step
passed, 1 when one failed, 2 for bad input (nothing started), 130 on Ctrl-C.

Against GitHub itself: ``GITHUB_TOKEN=... MLCOPS_DEMO_GITHUB_REPO=OWNER/REPO`` (a repository you
own; the release v0.1.0 is published there). The registry is always the local one.
"""

from __future__ import annotations

import argparse
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

PROJECT = Path(__file__).resolve().parents[1]
if str(PROJECT) not in sys.path:  # the test doubles and the registry live in tests/
    sys.path.insert(0, str(PROJECT))

from tests.fakes.github_api import FakeGitHub  # noqa: E402
from tests.helpers import load_example_publisher  # noqa: E402
from tests.release.registry import Registry  # noqa: E402

TAG = "v0.1.0"
REGISTRY_USER = "mlcops"
FAKE_REPO = "mlcops-demo/mini-mlc-llm"
IMAGE_NAME = "mlc-llm"
REDACTED = "<redacted>"
REPO_PATTERN = re.compile(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$")
RUN_LINE = re.compile(r"^run (\S+): ", re.M)
# Variables for the local hosts when they are provisioned as Vulkan build hosts (the default):
# Mesa's lavapipe gives them a Vulkan device, and Docker is not needed on them because the
# image is built by this machine's engine.
FAST_HOST_VARS: dict[str, Any] = {
    "runner_toolchains": ["vulkan"],
    "runner_docker": False,
    "mlc_llm_backends": ["vulkan"],
}


class UsageError(Exception):
    """Bad input: one line, exit status 2, nothing started."""


class StepFailed(Exception):
    """A step of the loop failed; the message says which and why."""


@dataclass
class Step:
    """One step of the loop and how it went."""

    name: str
    status: str = "not run"
    seconds: float = 0.0


@dataclass
class GitHubTarget:
    """Where the release goes: the GitHub double, or a real repository."""

    repo: str
    fake: FakeGitHub | None = None
    extra: dict[str, str] = field(default_factory=dict)


def say(text: str = "") -> None:
    """Print a line at once (the output is often piped into a log)."""
    print(text, flush=True)


def banner(text: str) -> None:
    """Print a step header."""
    say()
    say(f"==> {text}")


class Demo:
    """Runs the loop; holds the secrets, the services and the steps' outcomes."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.inventory_source: Path = args.inventory.resolve()
        self.workdir: Path = args.workdir.resolve()
        self.registry_password = secrets.token_urlsafe(24)
        self.github_token = ""
        self.steps: list[Step] = []
        self.leaks: list[str] = []
        self.started = time.time()
        self.release_run: str | None = None
        self.hosts: list[str] = []
        self.containers: dict[str, str] = {}
        self.env = dict(os.environ)
        # mlcops and the plays find ansible-playbook, ansible-inventory ... next to this Python.
        self.env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{self.env.get('PATH', '')}"
        os.environ["PATH"] = self.env["PATH"]  # and so does this script (ansible-inventory)
        self.env.setdefault("ANSIBLE_CONFIG", str(PROJECT / "ansible.cfg"))
        for name in ("MLCOPS_REGISTRY_PASSWORD", "MLCOPS_REGISTRY_USERNAME"):
            self.env.pop(name, None)

    # ------------------------------------------------------------------ input

    def check_input(self) -> None:
        """Refuse bad input and a controller that cannot run the loop, before anything starts."""
        repo = os.environ.get("MLCOPS_DEMO_GITHUB_REPO", "")
        if repo and not REPO_PATTERN.match(repo):
            raise UsageError(
                f"MLCOPS_DEMO_GITHUB_REPO={repo!r} is not OWNER/REPO: "
                "name a repository you own, or unset it to use the GitHub test double"
            )
        if repo and not (os.environ.get("GITHUB_TOKEN") or os.environ.get("GITHUB_APP_ID")):
            raise UsageError(
                "MLCOPS_DEMO_GITHUB_REPO is set without GITHUB_TOKEN (or GITHUB_APP_ID): export "
                "a token with contents: write on that repository, or unset it to use the double"
            )
        if not self.inventory_source.exists():
            raise UsageError(f"--inventory {self.args.inventory}: no such file or directory")
        for tool, fix in (
            ("docker", "run `make engine` (installs docker.io)"),
            ("docker-registry", "run `make engine` (installs docker-registry)"),
            ("htpasswd", "run `make engine` (installs apache2-utils)"),
            ("git", "apt-get install git"),
            ("openssl", "apt-get install openssl"),
        ):
            if shutil.which(tool, path=self.env["PATH"]) is None:
                raise UsageError(f"{tool} is not installed: {fix}")
        docker = subprocess.run(["docker", "info"], capture_output=True, check=False)
        if docker.returncode != 0:
            raise UsageError("the Docker engine does not answer: run `make engine` to start it")
        if not 0 < self.args.git_port < 65536:
            raise UsageError(f"--git-port {self.args.git_port}: give a TCP port, 1 to 65535")
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", self.args.git_port)) == 0:
                raise UsageError(
                    f"--git-port {self.args.git_port}: something listens on 127.0.0.1 there; "
                    "stop it or pass another port"
                )
        if self.workdir == Path("/") or self.workdir == Path.home():
            raise UsageError(f"--workdir {self.workdir}: give a directory of its own")
        from mlcops.errors import MlcopsError
        from mlcops.local.hosts import inventory_hosts

        try:
            local = inventory_hosts(self.inventory_source)
        except MlcopsError as exc:
            raise UsageError(str(exc)) from None
        self.hosts = [h.name for h in local]
        self.containers = {h.name: h.container for h in local}
        if not self.hosts:
            raise UsageError(
                f"--inventory {self.args.inventory} has no host in group local_containers: "
                "the demo brings up local container hosts (see inventory/local/hosts.yml)"
            )

    # ------------------------------------------------------------------ running things

    def secret_values(self) -> list[str]:
        """Every secret this run knows, longest first."""
        values = [self.registry_password, self.github_token, os.environ.get("GITHUB_TOKEN", "")]
        values += [os.environ.get("GITHUB_APP_PRIVATE_KEY", "")]
        return sorted({v for v in values if len(v) >= 8}, key=len, reverse=True)

    def redact(self, text: str, where: str) -> str:
        """Replace secrets in a line of output; a secret found there is a leak."""
        for value in self.secret_values():
            if value in text:
                text = text.replace(value, REDACTED)
                self.leaks.append(f"the output of {where}")
        return text

    def mlcops(self, *args: str, env: dict[str, str] | None = None) -> tuple[int, str]:
        """Run ``mlcops ARGS``, stream its output (secrets redacted), return rc and output."""
        cmd = [sys.executable, "-m", "mlcops", *args]
        say(f"$ mlcops {' '.join(args)}")
        lines: list[str] = []
        with subprocess.Popen(
            cmd,
            cwd=PROJECT,
            env=env or self.env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            bufsize=1,
        ) as proc:
            assert proc.stdout is not None
            try:
                for line in proc.stdout:
                    line = self.redact(line.rstrip("\n"), f"mlcops {args[0]}")
                    lines.append(line)
                    say(f"  {line}" if line else "")
            except BaseException:
                # Ctrl-C or SIGTERM: mlcops ends its run cleanly on SIGINT; give it a minute.
                proc.send_signal(signal.SIGINT)
                try:
                    proc.wait(timeout=60)
                except subprocess.TimeoutExpired:
                    proc.kill()
                raise
            rc = proc.wait()
        return rc, "\n".join(lines)

    @contextmanager
    def step(self, name: str) -> Iterator[Step]:
        """Time a step and record how it ended."""
        record = Step(name)
        self.steps.append(record)
        banner(f"[{len(self.steps)}] {name}")
        began = time.monotonic()
        try:
            yield record
        except StepFailed as exc:
            record.status = "FAILED"
            say(f"FAILED: {exc}")
            raise
        except BaseException:
            record.status = "interrupted"
            raise
        else:
            record.status = "ok" if record.status == "not run" else record.status
        finally:
            record.seconds = time.monotonic() - began
            say(f"--- {name}: {record.status} in {record.seconds:.0f} s")

    # ------------------------------------------------------------------ the inventory

    def write_inventory(self, directory: Path) -> Path:
        """Copy the inventory and put its local container hosts in ``build_hosts``.

        The variables of the demo go into ``group_vars/all/`` (read by the hosts and by this
        machine, which builds the image and makes the release); nothing secret is written.
        """
        hosts = self.hosts
        if self.inventory_source.is_dir():
            shutil.copytree(self.inventory_source, directory)
        else:
            directory.mkdir(parents=True)
            shutil.copy(self.inventory_source, directory / self.inventory_source.name)
            for sub in ("group_vars", "host_vars"):
                if (self.inventory_source.parent / sub).is_dir():
                    shutil.copytree(self.inventory_source.parent / sub, directory / sub)
        build_hosts = {"all": {"children": {"build_hosts": {"hosts": dict.fromkeys(hosts)}}}}
        (directory / "zz-demo-build-hosts.yml").write_text(yaml.safe_dump(build_hosts))
        demo_vars = {
            # The example is small: 2 GiB free is plenty (MLC-LLM itself wants 10).
            "mlc_llm_min_disk_gib": 2,
            "mlc_llm_artifacts_dir": str(self.workdir / "artifacts"),
            # The image: built by this machine's engine from the local base image (no Docker
            # Hub here), with host networking and the CA bundle for a TLS-inspecting proxy.
            "mlc_llm_image_base": "mlcops/debian12-systemd:current",
            "mlc_llm_image_variant": "vulkan",
            "mlc_llm_image_network": "host",
            "mlc_llm_image_secrets": [{"id": "ca", "src": "/etc/ssl/certs/ca-certificates.crt"}],
            "mlc_llm_image_work_dir": str(self.workdir / "image"),
        }
        if os.environ.get("MLCOPS_DEMO_GITHUB_REPO") is None:
            demo_vars["github_api_insecure"] = True  # the double speaks plain http on 127.0.0.1
        (_vars_dir(directory / "group_vars", "all") / "zz-demo.yml").write_text(
            "# Written by examples/demo.py for one run of the demo.\n"
            + yaml.safe_dump(demo_vars, sort_keys=False)
        )
        for host in hosts:
            # The container's name, spelled out: a task that another host delegates to this one
            # (the release notes are read from the build host's checkout) would render the
            # group's "mlcops-{{ inventory_hostname }}" with the delegating host's name.
            host_vars: dict[str, Any] = {"ansible_host": self.containers[host]}
            if not self.args.full:
                host_vars.update(FAST_HOST_VARS)
            (_vars_dir(directory / "host_vars", host) / "zz-demo.yml").write_text(
                yaml.safe_dump(host_vars, sort_keys=False)
            )
        return directory

    # ------------------------------------------------------------------ services

    def start_services(self, stack: ExitStack, tmp: Path) -> tuple[str, Registry, GitHubTarget]:
        """Serve the example, start the registry and (unless a real repo is named) the double."""
        publisher = load_example_publisher()
        info = publisher.publish(tmp / "git")
        port = self.args.git_port
        daemon = publisher.serve(Path(info["dest"]), port, log=tmp / "git-daemon.log", detach=True)
        stack.callback(_stop_process, daemon)
        repo_url = f"git://127.0.0.1:{port}/mini-mlc-llm.git"
        say(f"example project: {repo_url} (tag {TAG} = {info['commits']['tag'][:7]})")

        registry = Registry(tmp / "registry", REGISTRY_USER, self.registry_password)
        registry.start()
        stack.callback(self.remove_images, registry)
        stack.callback(registry.stop)
        say(
            f"registry:        https://{registry.host} (docker-registry standing in for GHCR; "
            f"TLS from a throw-away CA, user {REGISTRY_USER}, a random password)"
        )

        real_repo = os.environ.get("MLCOPS_DEMO_GITHUB_REPO")
        if real_repo:
            say(f"GitHub:          https://github.com/{real_repo} (REAL: the release is public)")
            return repo_url, registry, GitHubTarget(real_repo)
        self.github_token = secrets.token_urlsafe(24)
        fake = FakeGitHub(tokens=(self.github_token,), state_dir=tmp / "github").start()
        stack.callback(fake.stop)
        say(
            f"GitHub:          {fake.url} is a TEST DOUBLE (tests/fakes/github_api.py) "
            "standing in for GitHub: nothing is published on github.com"
        )
        say(
            "                 (set GITHUB_TOKEN and MLCOPS_DEMO_GITHUB_REPO=OWNER/REPO "
            "to release to GitHub itself)"
        )
        return repo_url, registry, GitHubTarget(FAKE_REPO, fake, {"github_url": fake.url})

    def remove_images(self, registry: Registry) -> None:
        """Untag the images pushed to this run's registry (its port dies with it)."""
        found = subprocess.run(
            ["docker", "images", "--format", "{{.Repository}}:{{.Tag}}", f"{registry.host}/*/*"],
            capture_output=True,
            text=True,
            check=False,
        ).stdout.split()
        if found:
            subprocess.run(["docker", "rmi", "-f", *found], capture_output=True, check=False)

    # ------------------------------------------------------------------ the loop

    def release_env(self, target: GitHubTarget) -> dict[str, str]:
        """Return the release's environment: the secrets, no credential the double must not see."""
        env = dict(self.env)
        env["MLCOPS_REGISTRY_PASSWORD"] = self.registry_password
        env["MLCOPS_REGISTRY_USERNAME"] = REGISTRY_USER
        if target.fake is not None:
            for name in list(env):
                if name.startswith("GITHUB_APP_") or name == "GITHUB_API_URL":
                    del env[name]
            env["GITHUB_TOKEN"] = self.github_token
        return env

    def run(self) -> int:
        """Run every step; return the exit status."""
        self.check_input()
        failed = False
        with ExitStack() as stack:
            tmp = Path(tempfile.mkdtemp(prefix="mlcops-demo-"))
            stack.callback(shutil.rmtree, tmp, ignore_errors=True)
            shutil.rmtree(self.workdir, ignore_errors=True)
            self.workdir.mkdir(parents=True, mode=0o700)
            inventory = self.write_inventory(self.workdir / "inventory")
            if self.args.down:
                stack.callback(self.down, inventory)
            try:
                with self.step("Start the example's git server, the registry and GitHub"):
                    repo_url, registry, target = self.start_services(stack, tmp)
                with self.step(f"Bring up and provision the local hosts ({', '.join(self.hosts)})"):
                    self.play_step("up", "-i", str(inventory))
                    mode = "inventory's own toolchains" if self.args.full else "Vulkan, no Docker"
                    say(f"provisioning as build hosts: {mode}")
                    self.play_step("provision", "-i", str(inventory), "--progress", "plain")
                with self.step(f"Release {TAG} of the example (mlcops release)"):
                    extra = {
                        **target.extra,
                        "github_repo": target.repo,
                        "mlc_llm_image_registry": registry.host,
                        "mlc_llm_image_registry_ca_cert": str(registry.ca_cert),
                    }
                    args = ["release", "-i", str(inventory), "--ref", TAG, "--repo-url", repo_url]
                    for key, value in extra.items():
                        args += ["-e", f"{key}={value}"]
                    args += ["--progress", "plain"]
                    self.play_step(*args, env=self.release_env(target))
                    try:
                        self.show_published(registry, target)
                    except OSError as exc:
                        raise StepFailed(f"asking the registry and GitHub failed: {exc}") from None
            except StepFailed:
                failed = True
            failed = not self.reports(inventory) or failed
        self.check_secrets()
        return self.summary(failed or bool(self.leaks))

    def play_step(self, *args: str, env: dict[str, str] | None = None) -> None:
        """Run one mlcops command; a non-zero exit fails the step."""
        rc, output = self.mlcops(*args, env=env)
        found = RUN_LINE.search(output)
        if args[0] == "release" and found:
            self.release_run = found.group(1)
        if rc != 0:
            raise StepFailed(f"`mlcops {args[0]}` exited with {rc}")

    def show_published(self, registry: Registry, target: GitHubTarget) -> None:
        """Say what the registry and GitHub now hold, asked from them directly."""
        namespace = target.repo.split("/")[0].lower()
        repository = f"{namespace}/{IMAGE_NAME}"
        say(f"registry {registry.host}/{repository}: tags {', '.join(registry.tags(repository))}")
        if target.fake is None:
            say(f"GitHub: see https://github.com/{target.repo}/releases/tag/{TAG}")
            return
        for rel in target.fake.releases(target.repo):
            state = "draft" if rel["draft"] else "published"
            assets = ", ".join(a["name"] for a in rel["assets"])
            say(f"GitHub double {target.repo}: release {rel['tag_name']} ({state}): {assets}")

    def reports(self, inventory: Path) -> bool:
        """Print the health report and the release report; return whether both are good."""
        good = True
        try:
            with self.step("Health report (mlcops verify)"):
                self.play_step("verify", "-i", str(inventory))
        except StepFailed:
            good = False
        try:
            with self.step("Release report (mlcops report LAST)"):
                if self.release_run is None:
                    raise StepFailed("the release did not run, so there is no release report")
                from mlcops.runner import find_run

                # LAST is the release, unless another play ran on this machine since.
                last = find_run("LAST").name == self.release_run
                self.play_step("report", "LAST" if last else self.release_run)
        except StepFailed:
            good = False
        return good

    def down(self, inventory: Path) -> None:
        """Remove the local hosts (``--down``)."""
        banner("Remove the local hosts (--down)")
        rc, _ = self.mlcops("down", "-i", str(inventory))
        if rc != 0:
            say(f"mlcops down exited with {rc}: remove them with `mlcops down --all`")

    # ------------------------------------------------------------------ after

    def check_secrets(self) -> None:
        """Search what the run wrote (its run reports, artifacts, Docker config) for the secrets."""
        from mlcops.runner import state_dir

        ours = [self.workdir]
        runs = state_dir() / "runs"
        if runs.is_dir():
            ours += [p for p in runs.iterdir() if p.stat().st_mtime >= self.started - 1]
        # Docker's configuration may hold the user's own GitHub token (a ghcr.io login): only
        # the secrets made here are looked for there.
        made_here = [v for v in (self.registry_password, self.github_token) if v]
        searches = [
            (ours, self.secret_values()),
            ([Path.home() / ".docker", Path("/etc/docker")], made_here),
        ]
        scanned = 0
        for places, values in searches:
            needles = [v.encode() for v in values]
            for path in _files(places):
                try:
                    data = path.read_bytes()
                except OSError:
                    continue
                scanned += 1
                if any(n in data for n in needles):
                    self.leaks.append(str(path))
        banner("Secrets")
        if self.leaks:
            say("LEAK: a secret was found in: " + ", ".join(sorted(set(self.leaks))))
        else:
            say(
                f"the registry password and the GitHub token are in none of the {scanned} files "
                "this run wrote (run reports, artifacts, inventory, Docker configuration) "
                "nor in its output"
            )

    def summary(self, failed: bool) -> int:
        """Print each step's outcome and time; return the exit status."""
        banner("Summary")
        for s in self.steps:
            say(f"  {s.status:<11} {s.seconds:6.0f} s  {s.name}")
        say(f"  total       {time.time() - self.started:6.0f} s")
        if self.release_run:
            say(f"  release report: mlcops report {self.release_run}")
        say(f"  artifacts:      {self.workdir / 'artifacts' / TAG}")
        if not self.args.down:
            say("  the local hosts keep running: `mlcops down --all` removes them")
        return 1 if failed else 0


def _vars_dir(base: Path, name: str) -> Path:
    """Return ``base/name/`` as a directory of variable files, moving ``base/name.yml`` in."""
    directory = base / name
    directory.mkdir(parents=True, exist_ok=True)
    for suffix in (".yml", ".yaml", ".json"):
        single = base / f"{name}{suffix}"
        if single.is_file():
            single.rename(directory / f"00-{name}{suffix}")
    return directory


def _files(places: list[Path]) -> Iterator[Path]:
    for place in places:
        if place.is_file():
            yield place
        elif place.is_dir():
            yield from (p for p in place.rglob("*") if p.is_file() and not p.is_symlink())


def _stop_process(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def _default_workdir() -> Path:
    from mlcops.runner import state_dir

    return state_dir() / "demo"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """Parse the command line."""
    parser = argparse.ArgumentParser(
        prog="examples/demo.py", description=(__doc__ or "").splitlines()[0]
    )
    parser.add_argument(
        "-i",
        "--inventory",
        type=Path,
        default=PROJECT / "inventory" / "local",
        help="inventory whose local_containers hosts are used (default: inventory/local)",
    )
    parser.add_argument(
        "--git-port",
        type=int,
        default=9418,
        help="port of the example's git server (default: 9418). Keep it from run to run: the "
        "build hosts reuse their checkout of the same URL",
    )
    parser.add_argument("--down", action="store_true", help="remove the local hosts at the end")
    parser.add_argument(
        "--full",
        action="store_true",
        help="provision with the inventory's own toolchains (CUDA, Docker: slower)",
    )
    parser.add_argument(
        "--workdir",
        type=Path,
        default=_default_workdir(),
        help="the run's inventory and artifacts, emptied first (default: $MLCOPS_STATE_DIR/demo)",
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Run the demo; return the exit status."""
    args = parse_args(argv)

    def terminate(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, terminate)
    demo = Demo(args)
    try:
        return demo.run()
    except UsageError as exc:
        print(f"demo: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("demo: cancelled; what it started was stopped", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
