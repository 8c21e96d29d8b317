"""House rules every role keeps: specs match defaults, docs are generated, templates marked."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from mlcops import roledocs
from tests.helpers import PROJECT

ROLES = sorted(p for p in (PROJECT / "roles").iterdir() if (p / "tasks").is_dir())


def _load(path: Path) -> dict:
    return yaml.safe_load(path.read_text()) or {}


@pytest.mark.parametrize("role", ROLES, ids=[r.name for r in ROLES])
def test_argument_spec_matches_defaults(role: Path) -> None:
    """The spec documents every default, with the same value: it is the README's source."""
    spec = _load(role / "meta/argument_specs.yml")["argument_specs"]["main"]["options"]
    defaults = _load(role / "defaults/main.yml") if (role / "defaults/main.yml").exists() else {}
    assert sorted(defaults) == sorted(k for k, v in spec.items() if not v.get("required"))
    for name, value in defaults.items():
        assert spec[name].get("default") == value, name
    for name, option in spec.items():
        assert option.get("description"), f"{name} has no description"
        if option.get("type") == "list":
            assert "elements" in option, f"{name}: list without elements"


@pytest.mark.parametrize("role", ROLES, ids=[r.name for r in ROLES])
def test_public_variables_carry_the_role_prefix(role: Path) -> None:
    """Role variables never collide with another role's or the inventory's."""
    spec = _load(role / "meta/argument_specs.yml")["argument_specs"]["main"]["options"]
    # Roles that talk to GitHub share its connection variables (github_url, github_token ...).
    shared = ("github_",) if role.name.startswith("github_") else ()
    prefixes = (f"{role.name}_", *shared)
    assert [n for n in spec if not n.startswith(prefixes)] == []


@pytest.mark.parametrize("role", ROLES, ids=[r.name for r in ROLES])
def test_readme_table_is_generated_from_the_spec(role: Path) -> None:
    """`make docs` has been run: the README says what the spec says."""
    fresh = roledocs.render(role)
    assert fresh is not None, f"{role.name}/README.md lacks the ARGUMENT SPEC markers"
    assert (role / "README.md").read_text() == fresh, "run `make docs`"


@pytest.mark.parametrize("role", ROLES, ids=[r.name for r in ROLES])
def test_templates_say_they_are_managed(role: Path) -> None:
    """A file Ansible writes says so, so nobody edits it by hand on a host."""
    for template in sorted(role.glob("templates/**/*.j2")):
        lines = template.read_text().splitlines()
        first = lines[1] if lines[0].startswith("#!") else lines[0]  # a script keeps its shebang
        assert "ansible_managed" in first, template.name


@pytest.mark.parametrize("role", ROLES, ids=[r.name for r in ROLES])
def test_role_has_preflight_and_scenario(role: Path) -> None:
    """Pre-flight runs first, and a molecule scenario shows the role converging."""
    tasks = yaml.safe_load((role / "tasks/main.yml").read_text())
    includes = [
        str(t.get("ansible.builtin.include_tasks") or t.get("ansible.builtin.import_tasks"))
        for t in tasks
        if {"ansible.builtin.include_tasks", "ansible.builtin.import_tasks"} & t.keys()
    ]
    assert includes, "tasks/main.yml should dispatch to task files"
    assert "preflight" in includes[0], "the pre-flight must be the first task file included"
    # A Windows-only role cannot converge in a Linux container: its scenario is molecule/windows.
    scenarios = ["molecule/default/molecule.yml", "molecule/windows/molecule.yml"]
    assert any((role / s).is_file() for s in scenarios)
