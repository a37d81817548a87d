"""Shared pieces of the benchmark programs: arguments, a throw-away instance, timing, tables.

Benchmarks are programs, not tests: each one builds its own data in a temporary
directory (SQLite) or a temporary workspace schema (PostgreSQL), measures, prints a
table next to a baseline measured in the same run, and can write its results as
JSON for `run_all.py`.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from kartoteka.config import Settings  # noqa: E402

ADMIN_EMAIL = "bench@example.com"
ADMIN_PASSWORD = "bench-password-123"
PG_DEFAULT = "postgresql://postgres@127.0.0.1:5432/postgres"


# ----- arguments and results ---------------------------------------------------------------
def parser(description: str) -> argparse.ArgumentParser:
    """The options every benchmark program takes."""
    p = argparse.ArgumentParser(description=description)
    p.add_argument(
        "--database-url",
        default=None,
        help=f"unset: SQLite in a temp dir; e.g. {PG_DEFAULT} for PostgreSQL",
    )
    p.add_argument("--quick", action="store_true", help="small sizes (under a minute)")
    p.add_argument("--json", type=Path, default=None, help="also write the results here")
    return p


@dataclass
class Row:
    """One line of a result table: what, the measured value, the baseline, the target."""

    name: str
    value: float
    unit: str
    baseline: float | None = None
    baseline_name: str = ""
    target: str = ""
    ok: bool | None = None
    note: str = ""

    def ratio(self) -> str:
        """value / baseline as text."""
        if not self.baseline:
            return ""
        return f"{self.value / self.baseline:.2f}x"


@dataclass
class Results:
    """The rows of one benchmark program plus facts about the run."""

    bench: str
    database: str
    sizes: dict[str, Any] = field(default_factory=dict)
    rows: list[Row] = field(default_factory=list)

    def add(self, *args: Any, **kwargs: Any) -> Row:
        """Append a row and return it."""
        row = Row(*args, **kwargs)
        self.rows.append(row)
        return row

    def print(self) -> None:
        """Print the table to stdout."""
        print(f"\n{self.bench} on {self.database}  sizes: {self.sizes}")
        print(format_table(self.rows))

    def write(self, path: Path | None) -> None:
        """Write JSON results when asked."""
        if path is None:
            return
        data = {
            "bench": self.bench,
            "database": self.database,
            "sizes": self.sizes,
            "rows": [r.__dict__ for r in self.rows],
        }
        path.write_text(json.dumps(data, indent=2))


def fmt(value: float | None) -> str:
    """A number with sensible precision."""
    if value is None:
        return ""
    if abs(value) >= 100:
        return f"{value:,.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def table_lines(rows: list[Row]) -> list[list[str]]:
    """Rows as text cells (header first)."""
    out = [["measure", "value", "unit", "baseline", "ratio", "target", "ok", "note"]]
    for r in rows:
        ok = "" if r.ok is None else ("yes" if r.ok else "NO")
        base = f"{fmt(r.baseline)} ({r.baseline_name})" if r.baseline else ""
        out.append([r.name, fmt(r.value), r.unit, base, r.ratio(), r.target, ok, r.note])
    return out


def format_table(rows: list[Row]) -> str:
    """A plain-text table."""
    lines = table_lines(rows)
    widths = [max(len(line[i]) for line in lines) for i in range(len(lines[0]))]
    text = ["  ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)) for line in lines]
    text.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(text)


# ----- timing ---------------------------------------------------------------------------------
def percentile(samples: list[float], p: float) -> float:
    """The p-th percentile (0..100) by nearest rank."""
    ordered = sorted(samples)
    k = max(0, min(len(ordered) - 1, round(p / 100 * len(ordered) + 0.5) - 1))
    return ordered[k]


def timed(fn: Callable[[], Any], repeat: int, warmup: int = 3) -> list[float]:
    """Milliseconds of `repeat` calls of fn after a few warm-up calls."""
    for _ in range(warmup):
        fn()
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - start) * 1000)
    return samples


def summary(samples: list[float]) -> dict[str, float]:
    """p50, p99 and mean of millisecond samples."""
    return {
        "p50": percentile(samples, 50),
        "p99": percentile(samples, 99),
        "mean": statistics.fmean(samples),
    }


# ----- a throw-away instance -------------------------------------------------------------------
@dataclass
class Env:
    """A temporary data dir (and PostgreSQL workspace) with an initialised instance."""

    settings: Settings
    instance: Any
    tmp: Path

    @property
    def database(self) -> str:
        """`sqlite` or `postgresql`."""
        return "postgresql" if self.settings.is_postgres else "sqlite"

    def workspace(self) -> Any:
        """The default workspace object."""
        return self.instance.workspace(self.settings.default_workspace)

    def admin(self) -> Any:
        """An administrator actor for service calls."""
        from kartoteka.auth import service as auth
        from kartoteka.users import service as users

        ws = self.workspace()
        return auth.actor_for_user(ws, users.find_user_id(ws, ADMIN_EMAIL), via="token")

    def token(self) -> str:
        """A fresh API token of the administrator."""
        from kartoteka.auth import tokens

        return tokens.create_api_token(self.admin(), "bench")["token"]

    def server_env(self) -> dict[str, str]:
        """Environment for a `kartoteka`/uvicorn subprocess serving this instance."""
        env = dict(os.environ)
        env.update(
            KARTOTEKA_DATA_DIR=str(self.settings.data_dir),
            KARTOTEKA_DEFAULT_WORKSPACE=self.settings.default_workspace,
            KARTOTEKA_ADMIN_EMAIL=ADMIN_EMAIL,
            KARTOTEKA_ADMIN_PASSWORD=ADMIN_PASSWORD,
            KARTOTEKA_NO_WORKER="1",
            KARTOTEKA_RATE_LIMIT_ACCOUNT=BENCH_RATE_LIMIT,
            KARTOTEKA_RATE_LIMIT_ADDRESS=BENCH_RATE_LIMIT,
        )
        env.pop("KARTOTEKA_DATABASE_URL", None)
        if self.settings.database_url:
            env["KARTOTEKA_DATABASE_URL"] = self.settings.database_url
        return env


# The per-account request limit (a security feature, 100 per 30 s by default) would turn
# a load test into a 429 test; the limiter still runs, with limits nobody reaches here.
BENCH_RATE_LIMIT = "100000000/second"


def _lift_rate_limits(settings: Settings) -> None:
    for name in ("rate_limit_account", "rate_limit_address"):
        if hasattr(settings, name):
            setattr(settings, name, BENCH_RATE_LIMIT)


@contextlib.contextmanager
def environment(database_url: str | None) -> Iterator[Env]:
    """An initialised instance in a temp dir; its workspace is dropped afterwards."""
    from kartoteka.workspaces.service import Instance

    tmp = Path(tempfile.mkdtemp(prefix="kartoteka-bench-"))
    settings = Settings(
        data_dir=tmp / "data",
        database_url=database_url or None,
        admin_email=ADMIN_EMAIL,
        admin_password=ADMIN_PASSWORD,
        default_workspace=f"bench{uuid.uuid4().hex[:8]}",
    )
    _lift_rate_limits(settings)
    instance = Instance(settings)
    instance.init()
    try:
        yield Env(settings, instance, tmp)
    finally:
        with contextlib.suppress(Exception):
            instance.delete_workspace(settings.default_workspace)
        instance.close()
        shutil.rmtree(tmp, ignore_errors=True)


def create_catalog(env: Env, spec: dict[str, Any]) -> Any:
    """Create a catalog through the service (the API does the same) and return it."""
    from kartoteka.catalogs import service as catalogs

    return catalogs.create_catalog(env.admin(), spec)


# ----- seeding straight into a catalog table (not the measured path) ----------------------------
def _sqlite_value(value: Any) -> Any:
    """What SQLAlchemy's SQLite dialect stores for a Python value."""
    import datetime as dt

    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S.%f")
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def seed_table(
    env: Env, catalog: Any, columns: list[str], rows: Iterator[tuple[Any, ...]], chunk: int = 50_000
) -> int:
    """Bulk-insert raw rows (system columns first) with the driver: COPY or executemany."""
    table = catalog.table.name
    names = ["created_at", "updated_at", "created_by", "updated_by", *columns]
    engine = env.workspace().engine
    raw = engine.raw_connection()
    count = 0
    try:
        cur = raw.cursor()
        if env.database == "postgresql":
            copy_sql = f"COPY {table} ({', '.join(names)}) FROM STDIN"
            with cur.copy(copy_sql) as copy:
                for row in rows:
                    copy.write_row(row)
                    count += 1
        else:
            sql = f"INSERT INTO {table} ({', '.join(names)}) VALUES ({', '.join('?' * len(names))})"
            cur.execute("BEGIN")
            batch: list[tuple[Any, ...]] = []
            for row in rows:
                batch.append(tuple(_sqlite_value(v) for v in row))
                if len(batch) >= chunk:
                    cur.executemany(sql, batch)
                    count += len(batch)
                    batch = []
            if batch:
                cur.executemany(sql, batch)
                count += len(batch)
            cur.execute("COMMIT")
        raw.commit()
        if env.database == "postgresql":
            cur.execute(f"ANALYZE {table}")
        else:
            cur.execute(f"ANALYZE {table}")
        raw.commit()
    finally:
        raw.close()
    return count


# ----- servers over loopback ----------------------------------------------------------------------
def get_scope(target: str, headers: dict[str, str]) -> dict[str, Any]:
    """The ASGI scope of a GET of `target` (path and query) with these headers, for calling
    an app in process (no server, no socket)."""
    path, _, query = target.partition("?")
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": query.encode(),
        "root_path": "",
        "headers": [(b"host", b"bench")]
        + [(k.lower().encode(), v.encode()) for k, v in headers.items()],
        "client": ("127.0.0.1", 40000),
        "server": ("bench", 80),
        "state": {},
    }


def free_port() -> int:
    """An unused TCP port on 127.0.0.1."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def server(
    args: list[str], env: dict[str, str], port: int, cwd: Path = ROOT, timeout: float = 60
) -> Iterator[subprocess.Popen[bytes]]:
    """Run a uvicorn-style server subprocess until /healthz-or-/ answers; stop it after."""
    import httpx

    log = tempfile.TemporaryFile()  # noqa: SIM115 - closed in the finally below
    proc = subprocess.Popen(
        args, env=env, cwd=cwd, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )
    try:
        deadline = time.monotonic() + timeout
        while True:
            if proc.poll() is not None:
                log.seek(0)
                raise RuntimeError("server exited:\n" + log.read().decode(errors="replace")[-3000:])
            try:
                httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1)
                break
            except httpx.HTTPError:
                if time.monotonic() > deadline:
                    raise RuntimeError("server did not start in time") from None
                time.sleep(0.2)
        yield proc
    finally:
        stop(proc)
        log.close()


def stop(proc: subprocess.Popen[bytes]) -> None:
    """Stop a server we started (its whole process group: uvicorn workers too)."""
    import signal

    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=5)


def process_tree(pid: int) -> list[int]:
    """pid and all its descendants (from /proc)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry.name))
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(children.get(p, []))
    return out


def rss_mb(pid: int) -> float:
    """Resident set size of one process in MB (0 when it is gone)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def tree_rss(pid: int) -> tuple[float, float]:
    """(total, largest single process) RSS in MB of a server and its workers."""
    sizes = [rss_mb(p) for p in process_tree(pid)]
    return sum(sizes), max(sizes, default=0.0)


# ----- the machine ------------------------------------------------------------------------------
def machine() -> dict[str, str]:
    """CPU model, cores, RAM, OS and versions (for docs/benchmarks.md)."""
    import sqlite3

    import sqlalchemy

    cpu = "unknown"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    ram = "unknown"
    with contextlib.suppress(OSError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                ram = f"{int(line.split()[1]) / 1024 / 1024:.1f} GB"
    return {
        "cpu": cpu,
        "cores": str(os.cpu_count()),
        "ram": ram,
        "os": platform.platform(),
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "sqlalchemy": sqlalchemy.__version__,
    }


def postgres_version(url: str) -> str:
    """`SHOW server_version` of a PostgreSQL server."""
    import sqlalchemy as sa

    from kartoteka.storage.engine import sqlalchemy_url

    engine = sa.create_engine(sqlalchemy_url(url), poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as conn:
            return str(conn.exec_driver_sql("SHOW server_version").scalar())
    finally:
        engine.dispose()


# ----- CPU time of other processes ---------------------------------------------------------
def _ticks(pid: int) -> tuple[int, int]:
    """(process group, user + system CPU ticks) of one process, from /proc."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return -1, 0
    return int(fields[2]), int(fields[11]) + int(fields[12])


def cpu_of(group: int | None = None, pids: set[int] | None = None) -> dict[int, int]:
    """CPU ticks by pid of the processes in a process group (a server and its workers)
    or with the given pids (database backends); Linux /proc only."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        pid = int(entry.name)
        pgrp, ticks = _ticks(pid)
        if (group is not None and pgrp == group) or (pids is not None and pid in pids):
            found[pid] = ticks
    return found


def spent(before: dict[int, int], after: dict[int, int]) -> float:
    """CPU seconds used between two `cpu_of` snapshots (a new process counts whole)."""
    return sum(t - before.get(p, 0) for p, t in after.items()) / os.sysconf("SC_CLK_TCK")
