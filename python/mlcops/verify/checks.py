"""What one host has, found by using each tool through a testinfra host.

Each probe runs the tool for real: nvcc compiles a kernel, hipcc compiles a HIP kernel,
vulkaninfo lists devices, the Docker daemon answers. Nothing is taken from a version
string alone when the tool could be exercised.
"""

from __future__ import annotations

import json
import re
import shlex
from dataclasses import dataclass, field
from typing import Any

_VERSION = re.compile(r"(\d+\.\d+(?:\.\d+)?)")

#: A tiny CUDA kernel, compiled for every ``sm_XX`` the host's labels promise.
CUDA_KERNEL = "__global__ void scale(float *x) { x[threadIdx.x] *= 2.0f; }\n"
HIP_KERNEL = (
    "#include <hip/hip_runtime.h>\n__global__ void scale(float *x) { x[threadIdx.x] *= 2.0f; }\n"
)
FACTS_DIR = "/etc/ansible/facts.d"


@dataclass
class Item:
    """One line of the software report: a tool, what was found, and whether it works."""

    name: str
    found: bool
    version: str = ""
    detail: str = ""
    works: bool | None = None


@dataclass
class Problem:
    """Something a host's labels promise that it does not deliver."""

    label: str
    message: str


@dataclass
class HostReport:
    """The software report of one host."""

    host: str
    reachable: bool = True
    error: str = ""
    os: str = ""
    kernel: str = ""
    items: dict[str, Item] = field(default_factory=dict)
    vulkan_devices: list[str] = field(default_factory=list)
    gpus: list[str] = field(default_factory=list)
    services: dict[str, str] = field(default_factory=dict)
    labels: list[str] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Whether the host is reachable and keeps every promise of its labels."""
        return self.reachable and not self.problems


def _version(text: str) -> str:
    match = _VERSION.search(text)
    return match.group(1) if match else ""


def _vtuple(text: str) -> tuple[int, ...]:
    return tuple(int(p) for p in text.split(".") if p.isdigit())


def _run(host: Any, command: str) -> tuple[int, str]:
    """Run a shell command on the host; return its exit code and stdout+stderr."""
    result = host.run(command)
    return int(result.rc), (str(result.stdout) + str(result.stderr)).strip()


def _tool(host: Any, name: str, command: str) -> Item:
    rc, out = _run(host, command)
    if rc != 0:
        return Item(name, False, detail=(out.splitlines() or ["not found"])[-1][:160])
    return Item(name, True, _version(out), works=True)


def _compile(host: Any, compiler: str, source: str, suffix: str, flags: str) -> tuple[bool, str]:
    """Compile ``source`` on the host with ``compiler flags``; return success and the error."""
    script = (
        f"d=$(mktemp -d) && printf %s {shlex.quote(source)} > $d/k{suffix} && "
        f"{compiler} {flags} -c $d/k{suffix} -o $d/k.o; rc=$?; rm -rf $d; exit $rc"
    )
    rc, out = _run(host, f"bash -c {shlex.quote(script)}")
    return rc == 0, (out.splitlines() or [""])[-1][:200]


def read_facts(host: Any) -> dict[str, Any]:
    """Read the local facts the roles wrote (``/etc/ansible/facts.d/*.fact``)."""
    facts: dict[str, Any] = {}
    rc, out = _run(host, f"ls {FACTS_DIR} 2>/dev/null")
    if rc != 0:
        return facts
    for name in out.split():
        if not name.endswith(".fact"):
            continue
        rc, text = _run(host, f"cat {FACTS_DIR}/{shlex.quote(name)}")
        try:
            facts[name[:-5]] = json.loads(text) if rc == 0 else {}
        except ValueError:
            facts[name[:-5]] = {}
    return facts


def derive_labels(facts: dict[str, Any], declared: list[str]) -> list[str]:
    """Return the labels a host promises: declared in the inventory, or given by its facts.

    The derivation is the github_runner role's (``tasks/labels.yml``): a CUDA toolkit gives
    ``cuda``, ``cuda-X.Y`` and ``sm_XX``; ROCm gives ``rocm``; a Vulkan device ``vulkan``; a
    running Docker daemon ``docker``.
    """
    labels = list(declared)
    cuda, rocm = facts.get("cuda") or {}, facts.get("rocm") or {}
    if cuda.get("version"):
        labels += ["cuda", f"cuda-{cuda['version']}"]
        labels += [f"sm_{arch}" for arch in cuda.get("archs") or []]
        if (cuda.get("driver") or {}).get("present"):
            labels.append("gpu-nvidia")
    if str(rocm.get("version") or ""):
        labels.append("rocm")
        if rocm.get("gpu_agents"):
            labels.append("gpu-amd")
    if (facts.get("vulkan") or {}).get("devices"):
        labels.append("vulkan")
    if (facts.get("docker_engine") or {}).get("daemon_running"):
        labels.append("docker")
    return list(dict.fromkeys(str(label).lower() for label in labels))


def probe(
    host: Any, name: str, hostvars: dict[str, Any], *, cmake_range: tuple[str, str]
) -> HostReport:
    """Build the software report of one host and check it against its labels."""
    report = HostReport(name)
    rc, out = _run(host, '. /etc/os-release && echo "$PRETTY_NAME" && uname -r')
    if rc != 0 and not out:
        report.reachable = False
        report.error = "no answer"
        return report
    lines = out.splitlines()
    report.os, report.kernel = [*lines, "", ""][:2]
    items = report.items
    items["cmake"] = _tool(host, "cmake", "cmake --version")
    items["ninja"] = _tool(host, "ninja", "ninja --version")
    items["gcc"] = _tool(host, "gcc", "gcc -dumpfullversion")
    items["g++"] = _tool(host, "g++", "g++ -dumpfullversion")
    items["git"] = _tool(host, "git", "git --version")
    items["ccache"] = _tool(host, "ccache", "ccache --version")
    items["rust"] = _tool(host, "rust", "rustc --version")
    items["cargo"] = _tool(host, "cargo", "cargo --version")
    items["python"] = _tool(host, "python", "python3 --version")
    cmake = items["cmake"]
    if cmake.found:
        low, high = cmake_range
        inside = _vtuple(low) <= _vtuple(cmake.version) < _vtuple(high)
        cmake.works = inside
        cmake.detail = f"wanted >= {low}, < {high}"

    nvcc = "$(command -v nvcc || echo /usr/local/cuda/bin/nvcc)"
    items["cuda"] = _tool(host, "cuda", f"{nvcc} --version")
    rc, out = _run(host, "nvidia-smi --query-gpu=name,driver_version --format=csv,noheader")
    items["nvidia-driver"] = Item("nvidia-driver", rc == 0, _version(out) if rc == 0 else "")
    report.gpus += [line.strip() for line in out.splitlines() if rc == 0 and line.strip()]

    rc, out = _run(host, "vulkaninfo --summary")
    report.vulkan_devices = re.findall(r"deviceName\s*=\s*(.+)", out) if rc == 0 else []
    items["vulkan"] = Item(
        "vulkan",
        rc == 0,
        _version(out.split("Instance Version", 1)[-1]) if rc == 0 else "",
        detail=", ".join(report.vulkan_devices) or (out.splitlines() or [""])[-1][:160],
        works=bool(report.vulkan_devices) if rc == 0 else None,
    )
    items["rocm"] = _tool(host, "rocm", "hipcc --version")
    rc, out = _run(host, "rocminfo")
    agents = sorted(set(re.findall(r"Name:\s+(gfx\w+)", out))) if rc == 0 else []
    report.gpus += agents

    rc, out = _run(host, "docker version --format '{{.Server.Version}}'")
    items["docker"] = Item(
        "docker", rc == 0, out if rc == 0 else "", works=True if rc == 0 else None
    )
    if rc != 0:
        items["docker"].detail = (out.splitlines() or ["not found"])[-1][:160]
    rc, out = _run(
        host,
        "systemctl list-units --all --plain --no-legend --no-pager "
        "'actions.runner.*' 'github-runner*'",
    )
    for line in out.splitlines() if rc == 0 else []:
        parts = line.split()
        if len(parts) >= 4:
            report.services[parts[0]] = f"{parts[2]}/{parts[3]}"

    facts = read_facts(host)
    declared = hostvars.get("github_runner_labels") or []
    report.labels = derive_labels(facts, [str(x) for x in declared])
    _check_promises(host, report, facts)
    return report


def _check_promises(host: Any, report: HostReport, facts: dict[str, Any]) -> None:
    """Add a problem for every label the host does not live up to."""
    items, labels, problems = report.items, report.labels, report.problems
    if "toolchain" in facts or labels:
        for tool in ("cmake", "ninja", "gcc", "g++", "git", "python"):
            if not items[tool].found:
                problems.append(Problem("toolchain", f"{tool} not found: {items[tool].detail}"))
        if items["cmake"].found and items["cmake"].works is False:
            problems.append(
                Problem("toolchain", f"cmake {items['cmake'].version} {items['cmake'].detail}")
            )
    cuda = items["cuda"]
    archs = [label[3:] for label in labels if re.fullmatch(r"sm_\d+", label)]
    if "cuda" in labels or archs:
        if not cuda.found:
            problems.append(Problem("cuda", f"labels promise CUDA but nvcc fails: {cuda.detail}"))
        else:
            nvcc = "$(command -v nvcc || echo /usr/local/cuda/bin/nvcc)"
            for arch in archs or ["80"]:
                ok, err = _compile(host, nvcc, CUDA_KERNEL, ".cu", f"-arch=sm_{arch}")
                cuda.works = ok if cuda.works is None else cuda.works and ok
                if not ok:
                    problems.append(Problem(f"sm_{arch}", f"nvcc -arch=sm_{arch} fails: {err}"))
            cuda.detail = "compiles for " + ", ".join(f"sm_{a}" for a in archs or ["80"])
    for label in labels:
        if label.startswith("cuda-") and cuda.found and not cuda.version.startswith(label[5:]):
            problems.append(Problem(label, f"nvcc is CUDA {cuda.version}, not {label[5:]}"))
    if "gpu-nvidia" in labels and not items["nvidia-driver"].found:
        problems.append(Problem("gpu-nvidia", "nvidia-smi finds no GPU"))
    if "vulkan" in labels and not report.vulkan_devices:
        problems.append(Problem("vulkan", "vulkaninfo --summary lists no device"))
    rocm = items["rocm"]
    if "rocm" in labels:
        if not rocm.found:
            problems.append(Problem("rocm", f"labels promise ROCm but hipcc fails: {rocm.detail}"))
        else:
            ok, err = _compile(host, "hipcc", HIP_KERNEL, ".hip", "--offload-arch=gfx90a")
            rocm.works = ok
            if not ok:
                problems.append(Problem("rocm", f"hipcc --offload-arch=gfx90a fails: {err}"))
    if "gpu-amd" in labels and not any(g.startswith("gfx") for g in report.gpus):
        problems.append(Problem("gpu-amd", "rocminfo lists no GPU agent"))
    if "docker" in labels and not items["docker"].found:
        problems.append(
            Problem("docker", f"the Docker daemon does not answer: {items['docker'].detail}")
        )
    for unit, state in report.services.items():
        if unit.startswith("actions.runner.") and not state.startswith("active"):
            problems.append(Problem("runner", f"service {unit} is {state}"))
