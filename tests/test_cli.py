"""The `kartoteka` command, run in-process with Typer's CliRunner."""

from __future__ import annotations

import importlib
import os
import tarfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest_support import *  # noqa: F403
from conftest_support import TEST_DATABASE_URL, drop_test_workspaces
from typer.testing import CliRunner, Result

from kartoteka.auth import service as auth
from kartoteka.catalogs import service as catalogs
from kartoteka.cli import app
from kartoteka.config import Settings
from kartoteka.context import Actor
from kartoteka.records import service as records
from kartoteka.records.requests import BatchRequest
from kartoteka.workspaces import Instance

Run = Callable[..., Result]


@pytest.fixture
def cli_settings(tmp_path: Path, ws_prefix: str) -> Settings:
    """Settings the CLI under test resolves to."""
    return Settings(
        data_dir=tmp_path / "cli-data",
        database_url=TEST_DATABASE_URL,
        default_workspace=ws_prefix,
    )


@pytest.fixture
def run(cli_settings: Settings, ws_prefix: str) -> Iterator[Run]:
    """Invoke the CLI with the test data dir (and database); returns the Result."""
    runner = CliRunner()
    env = {
        "KARTOTEKA_DEFAULT_WORKSPACE": ws_prefix,
        "KARTOTEKA_ADMIN_EMAIL": None,
        "KARTOTEKA_ADMIN_PASSWORD": None,
        "KARTOTEKA_DATABASE_URL": None,
        "KARTOTEKA_DATA_DIR": None,
        "KARTOTEKA_NO_WORKER": None,
        # `serve` and `worker` would otherwise send this process's logs to the runner's
        # stderr, which is closed after the invocation.
        "KARTOTEKA_LOG_FORMAT": "none",
    }
    base = ["--data-dir", str(cli_settings.data_dir)]
    if cli_settings.database_url:
        base += ["--database-url", cli_settings.database_url]

    def invoke(*args: str, input: str | None = None) -> Result:
        return runner.invoke(app, [*base, *args], env=env, input=input)

    yield invoke
    if cli_settings.database_url:
        drop_test_workspaces(cli_settings, ws_prefix)


def ok(result: Result) -> str:
    """The output of a successful run (fails the test with the output otherwise)."""
    assert result.exit_code == 0, result.output
    return result.output


def failed(result: Result, code: int = 1) -> str:
    """The output of a failed run: one line, no traceback."""
    assert result.exit_code == code, result.output
    assert "Traceback" not in result.output
    last = result.output.strip().splitlines()[-1]
    assert last.startswith("Error: "), result.output
    return last


@pytest.mark.parametrize(
    "command",
    [
        [],
        ["init"],
        ["serve"],
        ["worker"],
        ["migrate"],
        ["backup"],
        ["restore"],
        ["workspace"],
        ["workspace", "create"],
        ["workspace", "list"],
        ["workspace", "delete"],
        ["user"],
        ["user", "create"],
        ["user", "list"],
        ["user", "set-password"],
        ["token"],
        ["token", "create"],
    ],
)
def test_help_everywhere(run: Run, command: list[str]) -> None:
    assert "Usage" in ok(run(*command, "--help"))


def test_init_prints_generated_login_once(run: Run, cli_settings: Settings) -> None:
    out = ok(run("init"))
    lines = dict(line.split(": ", 1) for line in out.strip().splitlines())
    assert lines["Login"] == "admin@example.com" and len(lines["Password"]) >= 12
    assert "Already initialised" in ok(run("init"))
    with opened_instance(cli_settings) as instance:
        ws = instance.workspace(cli_settings.default_workspace)
        auth.login(ws, lines["Login"], lines["Password"])


class opened_instance:  # noqa: N801 - used like a function in `with`
    """An Instance on the CLI's settings, closed on exit."""

    def __init__(self, settings: Settings) -> None:
        self.instance = Instance(settings)

    def __enter__(self) -> Instance:
        return self.instance

    def __exit__(self, *exc: object) -> None:
        self.instance.close()


def test_workspace_commands(run: Run, ws_prefix: str) -> None:
    name = ws_prefix + "-acme"
    assert f"Workspace {name} created" in ok(run("workspace", "create", name))
    assert name in ok(run("workspace", "list"))
    assert "exists" in failed(run("workspace", "create", name))
    assert "invalid workspace name" in failed(run("workspace", "create", "Bad Name"))
    failed(run("workspace", "delete", name, input="n\n"))
    assert name in ok(run("workspace", "list"))
    ok(run("workspace", "delete", name, "--yes"))
    assert name not in ok(run("workspace", "list"))
    assert "does not exist" in failed(run("workspace", "delete", name, "--yes"))


def test_user_and_token_commands(run: Run, cli_settings: Settings) -> None:
    ok(run("init"))
    args = ["--email", "Bob@Example.com", "--name", "Bob", "--password", "bob-password"]
    assert "bob@example.com" in ok(run("user", "create", *args, "--admin"))
    assert "already exists" in failed(run("user", "create", *args))
    assert "password" in failed(
        run("user", "create", "--email", "c@x.io", "--name", "C", "--password", "short")
    )
    assert "bob@example.com" in ok(run("user", "list"))
    ok(run("user", "set-password", "--email", "bob@example.com", "--password", "new-password"))
    failed(run("user", "set-password", "--email", "nobody@x.io", "--password", "new-password"))
    token = ok(run("token", "create", "--email", "bob@example.com", "--name", "ci")).strip()
    assert token.startswith("kt_")
    failed(run("token", "create", "--email", "nobody@x.io", "--name", "ci"))
    with opened_instance(cli_settings) as instance:
        ws = instance.workspace(cli_settings.default_workspace)
        assert auth.actor_from_token(ws, token).email == "bob@example.com"
        auth.login(ws, "bob@example.com", "new-password")
    assert "does not exist" in failed(run("user", "list", "--workspace", "nope"))


def test_migrate_reports_each_workspace(run: Run, ws_prefix: str) -> None:
    ok(run("init"))
    out = ok(run("migrate"))
    assert f"{ws_prefix}: up to date" in out


def test_worker_without_workers_module_exits_2(run: Run, monkeypatch: pytest.MonkeyPatch) -> None:
    real = importlib.import_module

    def fake(name: str, *args: Any) -> Any:
        if name == "kartoteka.workers":
            raise ModuleNotFoundError("No module named 'kartoteka.workers'", name=name)
        return real(name, *args)

    monkeypatch.setattr(importlib, "import_module", fake)
    assert "kartoteka.workers" in failed(run("worker"), code=2)


def test_worker_for_an_unknown_workspace_is_a_clear_error(run: Run) -> None:
    ok(run("init"))
    assert "no workspace called 'nope'" in failed(run("worker", "-w", "nope"))


def test_worker_serves_only_the_workspaces_named(
    run: Run, cli_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    from kartoteka import workers

    seen: dict[str, Any] = {}
    monkeypatch.setattr(workers, "run_forever", lambda instance, only=None: seen.update(only=only))
    ok(run("init"))
    ok(run("worker", "-w", cli_settings.default_workspace))
    assert seen["only"] == [cli_settings.default_workspace]
    ok(run("worker"))
    assert seen["only"] is None


def test_serve_initialises_and_starts_uvicorn(
    run: Run, cli_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    import uvicorn

    calls: list[tuple[tuple, dict]] = []
    seen_env: dict[str, str] = {}

    def fake_run(*args: Any, **kwargs: Any) -> None:
        calls.append((args, kwargs))
        seen_env.update({k: v for k, v in os.environ.items() if k.startswith("KARTOTEKA_")})

    monkeypatch.setattr(uvicorn, "run", fake_run)
    out = ok(run("serve", "--port", "8123", "--no-worker"))
    assert "Kartoteka is running at http://127.0.0.1:8123" in out
    assert "Login: admin@example.com" in out and "Password: " in out
    ((args, kwargs),) = calls
    assert args == ("kartoteka.server:create_app",)
    assert kwargs["factory"] is True and kwargs["port"] == 8123 and kwargs["host"] == "127.0.0.1"
    # Worker processes of uvicorn rebuild settings from the environment.
    assert seen_env["KARTOTEKA_DATA_DIR"] == str(cli_settings.data_dir.resolve())
    assert seen_env.get("KARTOTEKA_DATABASE_URL") == cli_settings.database_url
    assert seen_env["KARTOTEKA_NO_WORKER"] == "1"
    assert "Login:" not in ok(run("serve"))  # the second start prints no password


def test_backup_and_restore_round_trip(
    run: Run, cli_settings: Settings, ws_prefix: str, tmp_path: Path
) -> None:
    ok(run("init"))
    ok(
        run(
            "user",
            "create",
            "--email",
            "bob@example.com",
            "--name",
            "Bob",
            "--password",
            "bob-password",
        )
    )
    files = cli_settings.data_dir / "files" / ws_prefix
    (files / "ab").mkdir(parents=True)
    (files / "ab" / "blob").write_bytes(b"\x00payload")
    archive = tmp_path / "out" / "backup.tar.gz"
    ok(run("backup", str(archive)))
    with tarfile.open(archive) as tar:
        names = tar.getnames()
    assert "manifest.json" in names and "files/ab/blob" in names

    copy = ws_prefix + "-copy"
    ok(run("restore", str(archive), "--workspace", copy))
    assert "exists" in failed(run("restore", str(archive), "--workspace", copy))
    ok(
        run(
            "user",
            "create",
            "--workspace",
            copy,
            "--email",
            "carol@example.com",
            "--name",
            "Carol",
            "--password",
            "carol-password",
        )
    )
    ok(run("restore", str(archive), "--workspace", copy, "--force"))
    assert (cli_settings.data_dir / "files" / copy / "ab" / "blob").read_bytes() == b"\x00payload"
    with opened_instance(cli_settings) as instance:
        ws = instance.workspace(copy)
        auth.login(ws, "bob@example.com", "bob-password")
    listed = ok(run("user", "list", "--workspace", copy))
    assert "bob@example.com" in listed and "carol@example.com" not in listed
    # Ids continue after the restored ones (sequences were moved on PostgreSQL).
    out = ok(
        run(
            "user",
            "create",
            "--workspace",
            copy,
            "--email",
            "dan@example.com",
            "--name",
            "Dan",
            "--password",
            "dan-password",
        )
    )
    assert "(id 3)" in out


def test_restore_refuses_garbage(run: Run, tmp_path: Path, ws_prefix: str) -> None:
    junk = tmp_path / "junk.tar.gz"
    junk.write_bytes(b"not a tarball")
    failed(run("restore", str(junk), "--workspace", ws_prefix + "-x"))
    failed(run("restore", str(tmp_path / "missing.tar.gz"), "--workspace", ws_prefix + "-x"))
    assert "does not exist" in failed(run("backup", str(tmp_path / "b.tgz"), "-w", "nope"))


def test_duplicates_rules_scan_and_merge(run: Run, cli_settings: Settings, ws_prefix: str) -> None:
    ok(run("init"))
    instance = Instance(cli_settings)
    try:
        system = Actor.system(instance.workspace(ws_prefix))
        catalogs.create_catalog(
            system,
            {"name": "Clients", "fields": [{"name": "Name", "type": "text"},
                                           {"name": "INN", "api_name": "inn", "type": "text"}]},
        )  # fmt: skip
        rows = [
            {"name": "Рога и копыта", "inn": "7707 083893"},
            {"name": "Рога и Копыта", "inn": "7707083893"},
            {"name": "Other", "inn": "1"},
        ]
        ids = records.batch(system, "clients", BatchRequest.creating(rows)).created
    finally:
        instance.close()
    assert "Rule 1" in ok(run("duplicates", "add-rule", "clients", "inn:digits", "--name", "ИНН"))
    assert "inn:digits" in ok(run("duplicates", "rules", "clients"))
    out = ok(run("duplicates", "scan", "clients"))
    assert "7707083893" in out and "1 group(s)" in out
    assert "unknown field" in failed(run("duplicates", "add-rule", "clients", "nope"))
    out = ok(
        run("duplicates", "merge", "clients", str(ids[0]), str(ids[1]), "--take", f"name={ids[1]}")
    )
    assert f"into #{ids[0]}" in out
    assert "0 group(s)" in ok(run("duplicates", "scan", "clients"))
    assert "not found" in failed(run("duplicates", "merge", "clients", str(ids[0]), str(ids[1])))
