"""Unit tests of the logic the Windows roles keep in Python filters."""

from __future__ import annotations

import importlib.util
from types import ModuleType

import pytest

from tests.helpers import PROJECT


def _load(relative: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(relative.replace("/", "_"), PROJECT / relative)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


wt = _load("roles/windows_toolchain/filter_plugins/windows_toolchain.py")
mw = _load("roles/mlc_llm/filter_plugins/mlc_llm_windows.py")

VC = "Microsoft.VisualStudio.Workload.VCTools"
X64 = "Microsoft.VisualStudio.Component.VC.Tools.x86.x64"
SDK = "Microsoft.VisualStudio.Component.Windows11SDK.22621"


@pytest.mark.parametrize(
    ("ids", "unknown"),
    [
        ([VC], []),
        ([VC, "Microsoft.VisualStudio.Workload.MSBuildTools"], []),
        (["Microsoft.VisualStudio.Workload.VCToolz"], ["Microsoft.VisualStudio.Workload.VCToolz"]),
        # A workload of the full IDE, not of the Build Tools product.
        (
            ["Microsoft.VisualStudio.Workload.NativeDesktop"],
            ["Microsoft.VisualStudio.Workload.NativeDesktop"],
        ),
        ([X64], [X64]),  # a component is not a workload
    ],
)
def test_workloads_are_checked_against_the_build_tools_list(
    ids: list[str], unknown: list[str]
) -> None:
    """Only Build Tools workloads pass; a typo would make the installer fail after minutes."""
    assert wt.vs_unknown_workloads(ids) == unknown


def test_components_are_checked_by_shape() -> None:
    """Component ids are many and versioned: their shape is what can be checked here."""
    good = [X64, SDK, "Microsoft.VisualStudio.ComponentGroup.NativeDesktop.Llvm.Clang"]
    assert wt.vs_unknown_components(good) == []
    assert wt.vs_unknown_components(
        ["VC.Tools.x86.x64", "Microsoft.VisualStudio.Component.VC Tools"]
    ) == [
        "VC.Tools.x86.x64",
        "Microsoft.VisualStudio.Component.VC Tools",
    ]


def test_installer_command_line_for_a_fresh_install() -> None:
    """Quiet, waiting, no restart, no cache, each id once with --add, recommended last."""
    args = wt.vs_installer_args([VC], [X64], r"C:\BuildTools")
    assert args == [
        "--installPath", r"C:\BuildTools", "--quiet", "--wait", "--norestart", "--nocache",
        "--add", VC, "--add", X64, "--includeRecommended",
    ]  # fmt: skip


def test_installer_command_line_modifies_an_existing_instance() -> None:
    """A second workload on a host that has Build Tools is a modify, not a second instance."""
    args = wt.vs_installer_args([VC], [], r"C:\BT", include_recommended=False, modify=True)
    assert args[0] == "modify"
    assert "--includeRecommended" not in args
    assert args.count("--add") == 1


@pytest.mark.parametrize(
    ("workloads", "components", "error"),
    [
        (["Bogus"], [], "not Visual Studio Build Tools ids: Bogus"),
        ([], [], "no workload or component"),
    ],
)
def test_installer_command_line_refuses_bad_ids(
    workloads: list[str], components: list[str], error: str
) -> None:
    """The command line is never built from an id the pre-flight would refuse."""
    with pytest.raises(ValueError, match=error):
        wt.vs_installer_args(workloads, components, r"C:\BT")


@pytest.mark.parametrize(
    ("rc", "phrase"),
    [
        (0, "success"),
        (3010, "a reboot is required"),
        ("1641", "a reboot was started"),
        (5003, "failed to download the installer"),
        (5007, "does not meet the product's requirements"),
        (1618, "another installation is running"),
        (1234, "failed with exit code 1234: see the dd_*.log files"),
        (None, "the installer did not run"),
    ],
)
def test_exit_codes_are_explained(rc: object, phrase: str) -> None:
    """A failed install says what the code means, not just its number."""
    assert phrase in wt.vs_exit_reason(rc)


def test_reboot_and_retry_codes_do_not_overlap() -> None:
    """3010 is a success that needs a reboot; 5003 is a failure worth a retry; never both."""
    assert set(wt.VS_REBOOT_CODES) <= set(wt.VS_SUCCESS_CODES)
    assert not set(wt.VS_RETRY_CODES) & set(wt.VS_SUCCESS_CODES)
    assert 5003 in wt.VS_RETRY_CODES


@pytest.mark.parametrize(
    ("text", "version"),
    [
        ("cmake version 3.31.6\n\nCMake suite maintained", "3.31.6"),
        ("git version 2.49.0.windows.1", "2.49.0"),
        ("Python 3.11.9", "3.11.9"),
        ("1.12.1", "1.12.1"),
        ("rustc 1.86.0 (05f9846f8 2025-03-31)", "1.86.0"),
        ("", ""),
        (None, ""),
    ],
)
def test_tool_versions_are_read_from_their_output(text: object, version: str) -> None:
    """Versions compared against the pinned range come from the tools' own words."""
    assert wt.tool_version(text) == version


def test_labels_follow_what_the_host_has() -> None:
    """Labels name what was found, with short versions; absent tools give no label."""
    info = {"msvc": "14.44.35207", "vulkan": "1.3.290.0", "cuda": "12.6.85", "conda": ""}
    assert wt.toolchain_labels(info) == ["cuda", "cuda-12.6", "msvc", "msvc-14.44", "vulkan"]
    assert wt.toolchain_labels({"msvc": "", "vulkan": "", "cuda": ""}) == []


SET_OUTPUT = "\r\n".join(
    [
        "ALLUSERSPROFILE=C:\\ProgramData",
        "INCLUDE=C:\\BT\\VC\\Tools\\MSVC\\14.44.35207\\include;",
        "LIB=C:\\BT\\VC\\Tools\\MSVC\\14.44.35207\\lib\\x64;",
        "Path=C:\\BT\\VC\\Tools\\MSVC\\14.44.35207\\bin\\HostX64\\x64;C:\\Miniconda3;"
        "C:\\Miniconda3\\Library\\usr\\bin;C:\\Program Files\\Git\\usr\\bin\\;"
        "C:\\Program Files\\CMake\\bin;C:\\Miniconda3",
        "PROMPT=$P$G",
        "=C:=C:\\",
        "VSCMD_ARG_TGT_ARCH=x64",
    ]
)


def test_msvc_environment_drops_gnu_link_exe_directories() -> None:
    """Conda's and Git's usr\\bin (GNU link.exe) leave PATH; MSVC's bin stays first."""
    env = mw.msvc_environment(SET_OUTPUT, ["\\Library\\usr\\bin", "\\usr\\bin"])
    assert env["Path"].split(";") == [
        "C:\\BT\\VC\\Tools\\MSVC\\14.44.35207\\bin\\HostX64\\x64",
        "C:\\Miniconda3",
        "C:\\Program Files\\CMake\\bin",
    ]
    assert env["VSCMD_ARG_TGT_ARCH"] == "x64"
    assert "PROMPT" not in env and "=C:" not in env and "" not in env


def test_msvc_environment_refuses_a_listing_without_msvc() -> None:
    """Without INCLUDE and LIB, vcvarsall.bat did not run and the build would find no cl.exe."""
    with pytest.raises(ValueError, match="set no INCLUDE, LIB"):
        mw.msvc_environment("Path=C:\\Windows\r\nPROMPT=$P$G")


def test_sha256sums_match_the_linux_format() -> None:
    """The release reads one SHA256SUMS format from every host: '<hex>  <name>' with LF."""
    body = mw.sha256sums({"b.whl": "AB" * 32, "a.whl": "cd" * 32})
    assert body == f"{'cd' * 32}  a.whl\n{'ab' * 32}  b.whl\n"
