"""Publish examples/mini-mlc-llm as git repositories shaped like MLC-LLM's, and serve them.

    python examples/publish.py DEST [--serve PORT] [--pidfile FILE]

Builds three bare repositories from the working tree:

- ``DEST/dlpack.git``: ``3rdparty/tvm/3rdparty/dlpack``;
- ``DEST/tvm.git``: ``3rdparty/tvm``, with dlpack as the submodule ``3rdparty/dlpack``;
- ``DEST/mini-mlc-llm.git``: the project, with tvm as the submodule ``3rdparty/tvm``.

Submodule URLs are relative (``../tvm.git``, ``../dlpack.git``), so they resolve against
whatever URL the superproject is cloned from (``git://``, ``file://``, ...).

History of mini-mlc-llm.git: commit 1 tagged ``v0.1.0`` (annotated), commit 2 on ``main``
(``git describe --tags`` gives ``v0.1.0-1-g<sha>``), and the branch ``failing-test``: main plus a
test marked ``unittest`` that fails. Names and dates are fixed, so every run of this script
on the same working tree gives the same commit SHAs. Re-running replaces the repositories.

``--serve PORT`` then runs ``git daemon`` on 127.0.0.1:PORT in the foreground (with
``--pidfile``: in the background, its pid written to FILE), and the clone URL is
``git://127.0.0.1:PORT/mini-mlc-llm.git``. Standard library only.
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

EXAMPLES_DIR = Path(__file__).resolve().parent
PROJECT_DIR = EXAMPLES_DIR / "mini-mlc-llm"
TVM_PATH = "3rdparty/tvm"
DLPACK_PATH = "3rdparty/dlpack"  # inside tvm

PROJECT_REPO = "mini-mlc-llm.git"
TVM_REPO = "tvm.git"
DLPACK_REPO = "dlpack.git"

TAG = "v0.1.0"
MAIN_BRANCH = "main"
FAILING_BRANCH = "failing-test"
# Left out of the tagged commit and added by the second commit on main.
SECOND_COMMIT_PATH = "tests/python/test_cli.py"
FAILING_TEST_PATH = "tests/python/test_failing_branch.py"
FAILING_TEST = '''"""A test that fails on purpose (branch failing-test only)."""

import pytest


@pytest.mark.unittest
def test_deliberate_failure() -> None:
    """Fail, so that a test stage that gates a release has something to stop on."""
    assert 1 + 1 == 3, "deliberate failure on branch failing-test: this test must be reported"
'''

AUTHOR = ("mini-mlc-llm bot", "mini-mlc-llm@example.invalid")
DATES = {
    "dlpack": "2026-01-05T10:00:00+00:00",
    "tvm": "2026-01-10T10:00:00+00:00",
    "tag": "2026-01-15T10:00:00+00:00",
    "main": "2026-02-01T10:00:00+00:00",
    "failing": "2026-02-02T10:00:00+00:00",
}

# Build outputs and caches never go into the repositories.
IGNORED_NAMES = {
    "build",
    "dist",
    "target",
    "__pycache__",
    ".pytest_cache",
    ".ruff_cache",
    "config.cmake",
}
IGNORED_SUFFIXES = (".pyc", ".so", ".egg-info", ".whl")


def _git_env(date: str) -> dict[str, str]:
    """Return an environment that makes git deterministic and independent of user config."""
    env = dict(os.environ)
    for key in list(env):
        if key.startswith("GIT_"):
            del env[key]
    env.update(
        GIT_AUTHOR_NAME=AUTHOR[0],
        GIT_AUTHOR_EMAIL=AUTHOR[1],
        GIT_COMMITTER_NAME=AUTHOR[0],
        GIT_COMMITTER_EMAIL=AUTHOR[1],
        GIT_AUTHOR_DATE=date,
        GIT_COMMITTER_DATE=date,
        GIT_CONFIG_NOSYSTEM="1",
        GIT_CONFIG_GLOBAL=os.devnull,
        TZ="UTC",
        LC_ALL="C",
    )
    return env


def git(cwd: Path, *args: str, date: str = DATES["main"]) -> str:
    """Run git in cwd and return its stripped stdout; raise with stderr on failure."""
    proc = subprocess.run(
        ["git", *args],
        cwd=cwd,
        env=_git_env(date),
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"git {' '.join(args)} failed in {cwd}:\n{proc.stderr.strip()}")
    return proc.stdout.strip()


def _ignore(skip: set[Path]) -> Callable[[str, list[str]], set[str]]:
    """Return a copytree ignore function for build outputs and the given absolute paths."""

    def ignore(directory: str, names: list[str]) -> set[str]:
        out = set()
        for name in names:
            path = Path(directory, name)
            if name in IGNORED_NAMES or name.endswith(IGNORED_SUFFIXES) or path in skip:
                out.add(name)
        return out

    return ignore


def _copy_tree(src: Path, dst: Path, skip: set[Path]) -> None:
    """Copy src to dst without build outputs and without the (submodule) paths in skip."""
    shutil.copytree(src, dst, ignore=_ignore(skip), symlinks=True)


def _write_gitmodules(work: Path, submodules: dict[str, str]) -> None:
    """Write .gitmodules for path -> relative URL."""
    lines = []
    for path, url in submodules.items():
        lines += [f'[submodule "{path}"]', f"\tpath = {path}", f"\turl = {url}"]
    (work / ".gitmodules").write_text("\n".join(lines) + "\n", encoding="utf-8")


def _commit_all(work: Path, message: str, date: str, gitlinks: dict[str, str]) -> str:
    """Stage the work tree plus gitlinks (path -> commit) and commit; return the commit SHA."""
    for path in gitlinks:
        (work / path).mkdir(parents=True, exist_ok=True)  # empty dir: submodule not checked out
    git(work, "add", "-A", date=date)
    for path, sha in gitlinks.items():
        git(work, "update-index", "--add", "--cacheinfo", f"160000,{sha},{path}", date=date)
    git(work, "commit", "-q", "--no-verify", "-m", message, date=date)
    return git(work, "rev-parse", "HEAD", date=date)


def _init_work(path: Path) -> None:
    git(path, "init", "-q", "-b", MAIN_BRANCH)


def _to_bare(work: Path, bare: Path, refspecs: list[str]) -> None:
    """Create the bare repository (replacing any old one) and push the refs into it."""
    if bare.exists():
        shutil.rmtree(bare)
    bare.mkdir(parents=True)
    git(bare, "init", "-q", "--bare", "-b", MAIN_BRANCH)
    git(work, "push", "-q", str(bare), *refspecs)


def publish(dest: Path) -> dict[str, Any]:
    """Build the three bare repositories in dest; return paths, refs and commit SHAs."""
    dest = dest.resolve()
    dest.mkdir(parents=True, exist_ok=True)
    tvm_src = PROJECT_DIR / TVM_PATH
    dlpack_src = tvm_src / DLPACK_PATH
    for required in (PROJECT_DIR / "CMakeLists.txt", tvm_src / "CMakeLists.txt", dlpack_src):
        if not required.exists():
            raise FileNotFoundError(f"{required} is missing: is the working tree complete?")

    with tempfile.TemporaryDirectory(prefix="mini-mlc-llm-publish-") as tmp:
        stage = Path(tmp)

        # dlpack: one commit.
        work = stage / "dlpack"
        _copy_tree(dlpack_src, work, set())
        _init_work(work)
        dlpack_sha = _commit_all(work, "dlpack: header-only subset", DATES["dlpack"], {})
        _to_bare(work, dest / DLPACK_REPO, [f"{MAIN_BRANCH}:{MAIN_BRANCH}"])

        # tvm: one commit, with dlpack as a submodule.
        work = stage / "tvm"
        _copy_tree(tvm_src, work, {dlpack_src})
        _init_work(work)
        _write_gitmodules(work, {DLPACK_PATH: f"../{DLPACK_REPO}"})
        tvm_sha = _commit_all(
            work, "tvm: runtime with dlpack submodule", DATES["tvm"], {DLPACK_PATH: dlpack_sha}
        )
        _to_bare(work, dest / TVM_REPO, [f"{MAIN_BRANCH}:{MAIN_BRANCH}"])

        # mini-mlc-llm: tagged commit, one more commit on main, the failing-test branch.
        work = stage / "mini-mlc-llm"
        _copy_tree(PROJECT_DIR, work, {tvm_src})
        _init_work(work)
        _write_gitmodules(work, {TVM_PATH: f"../{TVM_REPO}"})
        held_back = work / SECOND_COMMIT_PATH
        held_back_text = held_back.read_bytes()
        held_back.unlink()
        tagged_sha = _commit_all(work, "mini-mlc-llm 0.1.0", DATES["tag"], {TVM_PATH: tvm_sha})
        git(work, "tag", "-a", TAG, "-m", f"Release {TAG}", date=DATES["tag"])
        held_back.write_bytes(held_back_text)
        main_sha = _commit_all(work, "Add CLI tests", DATES["main"], {TVM_PATH: tvm_sha})
        git(work, "checkout", "-q", "-b", FAILING_BRANCH, date=DATES["failing"])
        (work / FAILING_TEST_PATH).write_text(FAILING_TEST, encoding="utf-8")
        failing_sha = _commit_all(
            work, "Add a deliberately failing unit test", DATES["failing"], {TVM_PATH: tvm_sha}
        )
        _to_bare(
            work,
            dest / PROJECT_REPO,
            [
                f"refs/heads/{MAIN_BRANCH}:refs/heads/{MAIN_BRANCH}",
                f"refs/heads/{FAILING_BRANCH}:refs/heads/{FAILING_BRANCH}",
                f"refs/tags/{TAG}:refs/tags/{TAG}",
            ],
        )
        describe = git(dest / PROJECT_REPO, "describe", "--tags", MAIN_BRANCH)

    project = dest / PROJECT_REPO
    return {
        "dest": str(dest),
        "url": project.as_uri(),
        "repos": {
            "mini-mlc-llm": str(project),
            "tvm": str(dest / TVM_REPO),
            "dlpack": str(dest / DLPACK_REPO),
        },
        "tag": TAG,
        "main_branch": MAIN_BRANCH,
        "failing_branch": FAILING_BRANCH,
        "failing_test": FAILING_TEST_PATH,
        "describe": describe,
        "commits": {
            "tag": tagged_sha,
            "main": main_sha,
            "failing_branch": failing_sha,
            "tvm": tvm_sha,
            "dlpack": dlpack_sha,
        },
    }


def clone_url(port: int) -> str:
    """Return the git:// URL of the project when served on port."""
    return f"git://127.0.0.1:{port}/{PROJECT_REPO}"


def _wait_for_port(port: int, proc: subprocess.Popen[bytes], timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"git daemon exited with {proc.returncode} (port {port} in use?)")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    proc.terminate()
    raise RuntimeError(f"git daemon did not listen on 127.0.0.1:{port} within {timeout:.0f}s")


def serve(
    dest: Path, port: int, log: Path | None = None, detach: bool = False
) -> subprocess.Popen[bytes]:
    """Start git daemon for dest on 127.0.0.1:port; return once it accepts connections."""
    dest = dest.resolve()
    cmd = [
        "git",
        "daemon",
        f"--base-path={dest}",
        "--export-all",
        "--reuseaddr",
        "--listen=127.0.0.1",
        f"--port={port}",
        str(dest),
    ]
    out = open(log, "ab") if log is not None else subprocess.DEVNULL  # noqa: SIM115
    try:
        proc = subprocess.Popen(
            cmd,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=out if log is not None else None,
            env=_git_env(DATES["main"]),
            start_new_session=detach,
        )
    finally:
        if log is not None:
            out.close()  # type: ignore[union-attr]
    _wait_for_port(port, proc)
    return proc


def main(argv: list[str] | None = None) -> int:
    """Run the command line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dest", type=Path, help="directory for the bare repositories")
    parser.add_argument("--serve", type=int, metavar="PORT", help="serve them with git daemon")
    parser.add_argument(
        "--pidfile", type=Path, help="with --serve: run git daemon in the background, pid here"
    )
    args = parser.parse_args(argv)
    if args.pidfile is not None and args.serve is None:
        parser.error("--pidfile needs --serve PORT")
    try:
        info = publish(args.dest)
    except (OSError, RuntimeError) as exc:
        print(f"publish.py: error: {exc}", file=sys.stderr)
        return 1
    if args.serve is None:
        print(info["url"])
        return 0
    dest = Path(info["dest"])
    if args.pidfile is not None:
        proc = serve(dest, args.serve, log=dest / "git-daemon.log", detach=True)
        args.pidfile.write_text(f"{proc.pid}\n", encoding="utf-8")
        print(clone_url(args.serve))
        return 0
    proc = serve(dest, args.serve)
    print(clone_url(args.serve), flush=True)
    try:
        return proc.wait()
    except KeyboardInterrupt:
        proc.terminate()
        proc.wait()
        return 0


if __name__ == "__main__":
    sys.exit(main())
