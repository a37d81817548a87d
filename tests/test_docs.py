"""The documentation keeps up with the code: types, error codes, settings, CLI commands."""

from __future__ import annotations

import dataclasses
import importlib.util
import inspect
import re
from pathlib import Path

import pytest

from kartoteka import config
from kartoteka.edge import all_error_codes
from kartoteka.fields import all_types

DOCS = Path(__file__).resolve().parent.parent / "docs"
ENV_VAR = re.compile(r"KARTOTEKA_[A-Z_]+")


def read(name: str) -> str:
    """One documentation file."""
    return (DOCS / name).read_text(encoding="utf-8")


def headings(text: str) -> set[str]:
    """Every Markdown heading's text, without the #s and backticks."""
    return {m.group(1).replace("`", "").strip() for m in re.finditer(r"^#+ (.+)$", text, re.M)}


def table_rows(text: str) -> dict[str, list[str]]:
    """Markdown table rows keyed by their first cell (backticks stripped)."""
    rows = {}
    for line in text.splitlines():
        if line.startswith("|") and not set(line) <= set("|-: "):
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            rows[cells[0].replace("`", "")] = cells[1:]
    return rows


@pytest.mark.parametrize("type_name", sorted(all_types()))
def test_field_type_has_an_api_section(type_name: str) -> None:
    assert type_name in headings(read("api.md")), f"docs/api.md: no section for {type_name}"


@pytest.mark.parametrize("type_name", sorted(all_types()))
def test_field_type_options_are_documented(type_name: str) -> None:
    api = read("api.md")
    section = api.split(f"### `{type_name}`", 1)[1].split("\n### ", 1)[0]
    for option in all_types()[type_name].option_docs:
        assert f"`{option}`" in section, f"docs/api.md: {type_name} option {option}"


@pytest.mark.parametrize("type_name", sorted(all_types()))
def test_field_type_is_in_the_administrator_guide(type_name: str) -> None:
    text = read("field-types.md")
    ftype = all_types()[type_name]
    assert type_name in headings(text), f"docs/field-types.md: no section for {type_name}"
    assert ftype.labels["ru"] in text, f"docs/field-types.md: Russian name of {type_name}"


@pytest.mark.parametrize("code", sorted(all_error_codes()))
def test_error_code_is_in_the_table_with_its_status(code: str) -> None:
    rows = table_rows(read("api.md"))
    assert code in rows, f"docs/api.md: error code {code} missing from the table"
    assert rows[code][0] == str(all_error_codes()[code]), f"docs/api.md: status of {code}"


def env_vars_read_by_settings() -> set[str]:
    """The environment variables `Settings.from_env` reads."""
    return set(ENV_VAR.findall(inspect.getsource(config.Settings.from_env)))


def test_every_setting_can_be_configured() -> None:
    """Every Settings field is set in `from_env` (so it has a documented variable)."""
    source = inspect.getsource(config.Settings.from_env)
    fields = {f.name for f in dataclasses.fields(config.Settings)}
    unset = {name for name in fields if not re.search(rf"\b{name}=", source)}
    assert unset == set(), "Settings fields without an environment variable"


@pytest.mark.parametrize("var", sorted(env_vars_read_by_settings()))
def test_setting_is_documented(var: str) -> None:
    assert var in read("install.md") + read("operations.md"), f"{var} not in install/operations"


def cli_commands() -> list[str]:
    """Every command path of the Typer app (`serve`, `user create`, ...)."""
    if importlib.util.find_spec("kartoteka.cli") is None:
        return []
    from typer.main import get_command

    from kartoteka.cli import app

    found: list[str] = []

    def walk(command: object, prefix: str) -> None:
        subcommands = getattr(command, "commands", None)
        if not subcommands:
            found.append(prefix.strip())
            return
        for name, sub in subcommands.items():
            walk(sub, f"{prefix} {name}")

    walk(get_command(app), "")
    return found


def test_cli_walk_finds_commands() -> None:
    assert "serve" in cli_commands()


@pytest.mark.parametrize("command", cli_commands())
def test_cli_command_is_documented(command: str) -> None:
    assert f"kartoteka {command}" in read("operations.md") + read("install.md"), command


@pytest.mark.parametrize(
    "name",
    [
        "api.md",
        "field-types.md",
        "install.md",
        "operations.md",
        "architecture.md",
        "decisions/0001-real-tables.md",
        "decisions/0002-engine-per-workspace.md",
        "decisions/0003-sync-services-threadpool.md",
        "decisions/0004-json-responses.md",
        "decisions/0005-services-compose-core-expressions.md",
        "../CHANGELOG.md",
    ],
)
def test_document_exists(name: str) -> None:
    assert len(read(name)) > 300


def test_view_types_and_required_options_are_documented() -> None:
    from kartoteka.views.service import REQUIRED_OPTIONS, VIEW_TYPES

    api = read("api.md")
    section = api.split("## Views", 1)[1].split("\n## ", 1)[0]
    for vtype in VIEW_TYPES:
        assert f"`{vtype}`" in section, vtype
    for options in REQUIRED_OPTIONS.values():
        for key in options:
            assert f"`{key}`" in section, key


def test_filter_operators_are_documented() -> None:
    from kartoteka.fields.base import ALL_OPS

    rows = table_rows(read("api.md"))
    documented = {op.strip() for key in rows for op in key.split(",")}
    assert ALL_OPS - documented == set()
