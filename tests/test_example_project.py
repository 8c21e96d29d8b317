"""examples/: the mini-mlc-llm project and its publisher (examples/publish.py).

The fast test publishes the repositories and clones them over file://. The slow test serves
them with git daemon, clones over git:// and builds, tests and packages the project the way
the mlc_llm role does with MLC-LLM.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import venv
from pathlib import Path

import pytest

from tests.helpers import free_port, load_example_publisher

publish_mod = load_example_publisher()


def run(
    *args: str | Path,
    cwd: Path,
    env: dict[str, str] | None = None,
    check: bool = True,
    timeout: float = 600,
) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(
        [str(a) for a in args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=timeout,
    )
    if check and proc.returncode != 0:
        pytest.fail(
            f"{' '.join(map(str, args))} exited {proc.returncode}\n"
            f"--- stdout\n{proc.stdout[-4000:]}\n--- stderr\n{proc.stderr[-4000:]}"
        )
    return proc


def git(*args: str | Path, cwd: Path) -> str:
    return run("git", *args, cwd=cwd).stdout.strip()


def expected_version(describe: str) -> str:
    tag, _, rest = describe.lstrip("v").partition("-")
    if not rest:
        return tag
    distance, sha = rest.split("-")
    return f"{tag}.dev{distance}+{sha}"


def test_publish_and_clone_over_file_url(tmp_path: Path) -> None:
    info = publish_mod.publish(tmp_path / "pub")
    assert set(info["repos"]) == {"mini-mlc-llm", "tvm", "dlpack"}
    for repo in info["repos"].values():
        assert git("rev-parse", "--is-bare-repository", cwd=Path(repo)) == "true"
    project_repo = Path(info["repos"]["mini-mlc-llm"])
    assert git("symbolic-ref", "HEAD", cwd=project_repo) == "refs/heads/main"
    assert git("cat-file", "-t", info["tag"], cwd=project_repo) == "tag"  # annotated

    # Same SHAs on a re-run into the same place and into another one.
    again = publish_mod.publish(tmp_path / "pub")
    elsewhere = publish_mod.publish(tmp_path / "other")
    assert again["commits"] == info["commits"] == elsewhere["commits"]

    clone = tmp_path / "clone"
    # Submodules over file:// need protocol.file.allow (git >= 2.38.1); git:// does not.
    run(
        "git",
        "-c",
        "protocol.file.allow=always",
        "clone",
        "--recursive",
        info["url"],
        clone,
        cwd=tmp_path,
    )
    assert (clone / "3rdparty/tvm/CMakeLists.txt").is_file()
    assert (clone / "3rdparty/tvm/3rdparty/dlpack/include/dlpack/dlpack.h").is_file()
    assert git("config", "-f", ".gitmodules", "submodule.3rdparty/tvm.url", cwd=clone) == (
        "../tvm.git"
    )
    assert git("rev-parse", "HEAD:3rdparty/tvm", cwd=clone) == info["commits"]["tvm"]
    assert git("rev-parse", "HEAD", cwd=clone) == info["commits"]["main"]
    assert git("tag", "--list", cwd=clone) == "v0.1.0"
    describe = git("describe", "--tags", cwd=clone)
    assert re.fullmatch(r"v0\.1\.0-1-g[0-9a-f]{7,}", describe), describe
    assert info["commits"]["main"].startswith(describe.rsplit("-g", 1)[1])
    assert info["describe"] == describe
    assert git("rev-parse", "v0.1.0^{commit}", cwd=clone) == info["commits"]["tag"]

    # failing-test: main plus one commit that adds a failing unittest-marked test.
    branch = f"origin/{info['failing_branch']}"
    assert git("rev-parse", branch, cwd=clone) == info["commits"]["failing_branch"]
    assert git("rev-parse", f"{branch}~1", cwd=clone) == info["commits"]["main"]
    changed = git("diff", "--name-only", "HEAD", branch, cwd=clone).splitlines()
    assert changed == [info["failing_test"]]
    failing = git("show", f"{branch}:{info['failing_test']}", cwd=clone)
    assert "@pytest.mark.unittest" in failing
    assert "assert 1 + 1 == 3" in failing

    # The tagged commit is complete on its own (the second commit only adds a test file).
    assert git("diff", "--name-only", "v0.1.0", "HEAD", cwd=clone) == "tests/python/test_cli.py"
    # No build outputs were published.
    files = git("ls-files", "--recurse-submodules", cwd=clone).splitlines()
    assert not [f for f in files if f.startswith(("build/", "dist/")) or f.endswith(".so")]


def _tool(name: str) -> str | None:
    found = shutil.which(name)
    if found is None and name == "cargo":
        candidate = Path.home() / ".cargo" / "bin" / "cargo"
        found = str(candidate) if candidate.is_file() else None
    return found


@pytest.mark.slow
def test_serve_clone_build_test_and_wheel(tmp_path: Path) -> None:
    tools = {name: _tool(name) for name in ("cmake", "ninja", "g++", "cargo", "git")}
    missing = [name for name, path in tools.items() if path is None]
    if missing:
        pytest.skip(f"build tools missing on this controller: {', '.join(missing)}")
    cargo_dir = str(Path(str(tools["cargo"])).parent)

    info = publish_mod.publish(tmp_path / "pub")
    port = free_port()
    daemon = publish_mod.serve(tmp_path / "pub", port)
    try:
        clone = tmp_path / "mlc-llm"
        run("git", "clone", "--recursive", publish_mod.clone_url(port), clone, cwd=tmp_path)
    finally:
        daemon.terminate()
        daemon.wait(timeout=10)
    assert (clone / "3rdparty/tvm/3rdparty/dlpack/include/dlpack/dlpack.h").is_file()

    env = dict(os.environ)
    env["PATH"] = os.pathsep.join([env.get("PATH", ""), cargo_dir])
    env.pop("MLC_LIBRARY_PATH", None)
    # Let ccache reuse objects across test runs in other temporary directories.
    env.update(CCACHE_BASEDIR=str(clone), CCACHE_NOHASHDIR="1")

    # 1. version stamping from git describe.
    stamped = run(sys.executable, "version.py", "--git-describe", cwd=clone, env=env)
    version = stamped.stdout.strip()
    assert version == expected_version(info["describe"])
    assert f'__version__ = "{version}"' in (clone / "python/mlc_llm/libinfo.py").read_text()
    again = run(sys.executable, "version.py", "--git-describe", cwd=clone, env=env)
    assert again.stdout.strip() == version
    assert "updated" not in again.stderr  # written only when it changes

    # 2. build/config.cmake, as the role writes it (Vulkan and CUDA off on this controller).
    (clone / "build").mkdir()
    (clone / "build/config.cmake").write_text(
        "set(TVM_SOURCE_DIR 3rdparty/tvm)\n"
        "set(CMAKE_BUILD_TYPE RelWithDebInfo)\n"
        "set(USE_CUDA OFF)\nset(USE_CUTLASS OFF)\nset(USE_CUBLAS OFF)\nset(USE_THRUST OFF)\n"
        "set(USE_NCCL OFF)\nset(USE_ROCM OFF)\nset(USE_HIPBLAS OFF)\nset(USE_VULKAN OFF)\n"
        "set(USE_METAL OFF)\nset(USE_OPENCL OFF)\nset(USE_OPENCL_ENABLE_HOST_PTR OFF)\n"
        'set(CMAKE_CUDA_ARCHITECTURES "80;86")\n'
        "set(CMAKE_CUDA_COMPILER_LAUNCHER ccache)\n"
    )

    # 3. configure and build.
    launcher = (
        ["-DCMAKE_C_COMPILER_LAUNCHER=ccache", "-DCMAKE_CXX_COMPILER_LAUNCHER=ccache"]
        if shutil.which("ccache")
        else []
    )
    run("cmake", "-S", ".", "-B", "build", "-G", "Ninja", *launcher, cwd=clone, env=env)
    run("cmake", "--build", "build", "-j", "2", cwd=clone, env=env, timeout=900)

    # 4. the libraries, where MLC-LLM puts them, with nothing missing.
    libs = {p.name: p for p in (clone / "build").rglob("lib*.so")}
    assert libs["libmlc_llm.so"].parent == clone / "build"
    assert libs["libtvm_runtime.so"].parent == clone / "build/lib"
    for lib in libs.values():
        assert "not found" not in run("ldd", lib, cwd=clone).stdout

    # 5. import, CLI and unit tests with PYTHONPATH=python.
    penv = dict(env, PYTHONPATH=str(clone / "python"))
    out = run(
        sys.executable, "-c", "import mlc_llm; print(mlc_llm.__version__)", cwd=clone, env=penv
    )
    assert out.stdout.strip() == version
    run(sys.executable, "-m", "mlc_llm", "chat", "-h", cwd=clone, env=penv)
    compile_help = run(
        sys.executable, "-m", "mlc_llm", "compile", "-h", cwd=clone, env=penv, check=False
    )
    assert compile_help.returncode != 0
    junit = tmp_path / "junit.xml"
    tests = run(
        sys.executable,
        "-m",
        "pytest",
        "-v",
        "tests/python",
        "-m",
        "unittest",
        f"--junitxml={junit}",
        "-p",
        "no:cacheprovider",
        cwd=clone,
        env=penv,
        check=False,
    )
    assert tests.returncode == 0, tests.stdout[-4000:]
    assert "deselected" in tests.stdout  # the gpu test is left out by -m unittest
    assert junit.is_file()

    # The failing-test branch only adds a Python test: no rebuild needed to see it fail.
    git("checkout", "-q", info["failing_branch"], cwd=clone)
    failing = run(
        sys.executable,
        "-m",
        "pytest",
        "tests/python",
        "-m",
        "unittest",
        "-p",
        "no:cacheprovider",
        cwd=clone,
        env=penv,
        check=False,
    )
    assert failing.returncode == 1
    assert "deliberate failure on branch failing-test" in failing.stdout
    git("checkout", "-q", info["main_branch"], cwd=clone)

    # 6. the wheel (scikit-build-core reuses build/), installed in a clean venv.
    run(
        sys.executable,
        "-m",
        "pip",
        "wheel",
        "--no-deps",
        "-w",
        "dist",
        ".",
        "-v",
        cwd=clone,
        env=env,
    )
    wheels = list((clone / "dist").glob("*.whl"))
    assert [w.name for w in wheels] == [f"mlc_llm-{version}-py3-none-linux_x86_64.whl"]
    venv.create(tmp_path / "venv", with_pip=True)
    vpython = tmp_path / "venv/bin/python"
    run(vpython, "-m", "pip", "install", "-q", "--no-deps", "--no-index", wheels[0], cwd=tmp_path)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    clean_env = {k: v for k, v in env.items() if k != "PYTHONPATH"}
    out = run(
        vpython,
        "-c",
        "import mlc_llm, mlc_llm.base as b; print(mlc_llm.__version__, b.LIB_PATH, b.backends())",
        cwd=elsewhere,
        env=clean_env,
    )
    installed_version, lib_path, backends = out.stdout.split(maxsplit=2)
    assert installed_version == version
    assert Path(lib_path).parent.name == "mlc_llm"
    assert tmp_path / "venv" in Path(lib_path).parents
    assert backends.strip() == "['cpu']"
