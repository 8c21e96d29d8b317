"""Filters of the windows_toolchain role: Visual Studio installer ids, arguments and exit codes.

The logic lives here, not in Jinja, so that it is unit-tested on a controller with no Windows
host (``tests/windows/test_filters.py``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

# Workloads of the Visual Studio 2022 Build Tools product (Microsoft's "Visual Studio Build Tools
# 2022 component directory"). Components are many and versioned; they are checked by shape.
VS_BUILDTOOLS_WORKLOADS = (
    "Microsoft.VisualStudio.Workload.AzureBuildTools",
    "Microsoft.VisualStudio.Workload.DataBuildTools",
    "Microsoft.VisualStudio.Workload.ManagedDesktopBuildTools",
    "Microsoft.VisualStudio.Workload.MSBuildTools",
    "Microsoft.VisualStudio.Workload.NetCoreBuildTools",
    "Microsoft.VisualStudio.Workload.NodeBuildTools",
    "Microsoft.VisualStudio.Workload.OfficeBuildTools",
    "Microsoft.VisualStudio.Workload.UniversalBuildTools",
    "Microsoft.VisualStudio.Workload.VCTools",
    "Microsoft.VisualStudio.Workload.VisualStudioExtensionBuildTools",
    "Microsoft.VisualStudio.Workload.WebBuildTools",
    "Microsoft.VisualStudio.Workload.XamarinBuildTools",
)
_COMPONENT = re.compile(
    r"^Microsoft\.(VisualStudio\.Component|VisualStudio\.ComponentGroup|Net\.Component|Component)\.[A-Za-z0-9_.]+$"
)

# Exit codes of the Visual Studio installer ("Use command-line parameters to install Visual
# Studio", error codes table). Success codes first, then those worth another attempt.
VS_SUCCESS_CODES = (0, 1641, 3010)
VS_REBOOT_CODES = (1641, 3010)
# 5003: the bootstrapper failed to download the installer; 1618/1001: another installation or
# the installer itself is running; 8006: Visual Studio processes are running. All pass in time.
VS_RETRY_CODES = (1001, 1618, 5003, 8006)
VS_EXIT_REASONS = {
    0: "success",
    740: "elevation required: run as an administrator (become or an admin WinRM user)",
    1001: "the Visual Studio installer is already running",
    1003: "Visual Studio is in use",
    1602: "the installation was cancelled",
    1618: "another installation is running",
    1641: "success, a reboot was started",
    3010: "success, a reboot is required",
    5003: "the bootstrapper failed to download the installer (network, proxy or feed)",
    5004: "the installation was cancelled",
    5005: "the bootstrapper could not parse its command line",
    5007: "blocked: the host does not meet the product's requirements",
    8001: "the ARM machine check failed",
    8002: "the background download pre-check failed",
    8003: "an out-of-support component was selected",
    8004: "the target directory cannot be used",
    8005: "the source payloads failed verification",
    8006: "Visual Studio processes are running",
    8010: "the operating system is not supported",
}


def vs_unknown_workloads(ids: Iterable[str]) -> list[str]:
    """Return the ids that are not Visual Studio Build Tools workloads.

    Args:
        ids: Workload ids such as ``Microsoft.VisualStudio.Workload.VCTools``.

    Returns:
        The ids that the Build Tools installer would reject, in the order given.

    """
    return [i for i in ids if i not in VS_BUILDTOOLS_WORKLOADS]


def vs_unknown_components(ids: Iterable[str]) -> list[str]:
    """Return the ids that are not shaped like Visual Studio component ids.

    Args:
        ids: Component ids such as ``Microsoft.VisualStudio.Component.VC.Tools.x86.x64``.

    Returns:
        The malformed ids, in the order given.

    """
    return [i for i in ids if not _COMPONENT.match(str(i))]


def vs_installer_args(
    workloads: Iterable[str],
    components: Iterable[str],
    install_path: str,
    include_recommended: bool = True,
    modify: bool = False,
) -> list[str]:
    """Build the bootstrapper's argument list for an unattended install or modification.

    Args:
        workloads: Workload ids to add.
        components: Component ids to add.
        install_path: Installation directory of the instance.
        include_recommended: Add each workload's recommended components.
        modify: Modify the existing instance at ``install_path`` instead of installing one.

    Returns:
        Arguments for ``vs_buildtools.exe``, one per element (win_package quotes them).

    Raises:
        ValueError: No workload or component is given, or an id is unknown.

    """
    workloads, components = list(workloads), list(components)
    bad = vs_unknown_workloads(workloads) + vs_unknown_components(components)
    if bad:
        raise ValueError(f"not Visual Studio Build Tools ids: {', '.join(bad)}")
    if not workloads and not components:
        raise ValueError("no workload or component to install")
    args = ["modify"] if modify else []
    args += ["--installPath", install_path, "--quiet", "--wait", "--norestart", "--nocache"]
    for item in workloads + components:
        args += ["--add", item]
    if include_recommended and workloads:
        args.append("--includeRecommended")
    return args


def vs_exit_reason(rc: Any) -> str:
    """Say what a Visual Studio installer exit code means.

    Args:
        rc: The exit code (int or str; None when the installer did not run).

    Returns:
        One short phrase, e.g. ``"a reboot is required"``.

    """
    try:
        code = int(rc)
    except (TypeError, ValueError):
        return "the installer did not run"
    return VS_EXIT_REASONS.get(code, f"failed with exit code {code}: see the dd_*.log files")


def tool_version(text: Any) -> str:
    """Return the first dotted version number in a tool's ``--version`` output.

    Args:
        text: Output such as ``"cmake version 3.31.6"`` or ``"git version 2.49.0.windows.1"``.

    Returns:
        ``"3.31.6"``; an empty string when there is none.

    """
    found = re.search(r"\d+\.\d+(?:\.\d+)?", str(text or ""))
    return found.group(0) if found else ""


def toolchain_labels(info: dict[str, Any]) -> list[str]:
    """Return runner labels for the toolchains a Windows host has.

    Args:
        info: ``windows_toolchain_info``: tool name to version ("" when absent).

    Returns:
        Labels such as ``msvc``, ``msvc-14.44``, ``vulkan``, ``cuda-12.6``, sorted.

    """
    labels: set[str] = set()
    msvc = str(info.get("msvc") or "")
    if msvc:
        labels |= {"msvc", "msvc-" + ".".join(msvc.split(".")[:2])}
    if info.get("vulkan"):
        labels.add("vulkan")
    cuda = str(info.get("cuda") or "")
    if cuda:
        labels |= {"cuda", "cuda-" + ".".join(cuda.split(".")[:2])}
    if info.get("conda"):
        labels.add("conda")
    return sorted(labels)


class FilterModule:
    """Register the filters."""

    def filters(self) -> dict[str, Any]:
        """Return the filter table."""
        return {
            "vs_unknown_workloads": vs_unknown_workloads,
            "vs_unknown_components": vs_unknown_components,
            "vs_installer_args": vs_installer_args,
            "vs_exit_reason": vs_exit_reason,
            "windows_tool_version": tool_version,
            "windows_toolchain_labels": toolchain_labels,
        }
