"""Import at scale: a 1C-like deals file (12 columns, a link by INN, upsert by key).

Realistic rows are made with Faker (ru_RU and en_US): a pool of values per column is
generated once and rows are drawn from the pools (Faker itself makes ~20k values/s,
far slower than the import it feeds). The file is a `;`-separated CSV with decimal
commas and `dd.mm.yyyy` dates, as 1C writes them.

Measured, each in a `kartoteka import` subprocess (its peak RSS is the import's own):
- first import (mode upsert by the deal number; the client link resolved by INN);
- the same file again (every row unchanged) — target >= 2x faster than the first;
- a run killed with SIGKILL at about 50 %, then `kartoteka import --resume ID`: the
  catalog must end with every row exactly once.
Baseline in the same run: the raw driver inserting the same typed rows and link rows
(`executemany` on SQLite, `COPY` on PostgreSQL) in chunks of the same size, one commit
per chunk. Target: import <= 3x the baseline's time; >= 30,000 rows/s on SQLite,
>= 20,000 on PostgreSQL; peak RSS <= 400 MB.
"""

from __future__ import annotations

import csv
import json
import os
import random
import resource
import signal
import sqlite3
import subprocess
import sys
import time
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from common import ROOT, Env, Results, create_catalog, environment, parser

STAGES = ["Новая", "В работе", "Счёт выставлен", "Оплачена", "Отменена"]
HEADERS = [
    "Номер", "Клиент ИНН", "Название", "Описание", "Сумма", "Количество",
    "Дата", "Создана", "Оплачена", "Стадия", "Email", "Телефон",
]  # fmt: skip
POOL = 5000


def catalog_specs() -> tuple[dict[str, Any], dict[str, Any]]:
    """Clients (INN unique) and deals with 12 mapped fields of mixed types."""
    clients = {
        "name": "Клиенты",
        "api_name": "clients",
        "fields": [
            {"name": "Наименование", "api_name": "name", "type": "text"},
            {"name": "ИНН", "api_name": "inn", "type": "text", "unique": True},
        ],
    }
    deals = {
        "name": "Сделки",
        "api_name": "deals",
        "fields": [
            {"name": "Номер", "api_name": "number", "type": "text", "unique": True},
            {"name": "Клиент", "api_name": "client", "type": "link"},
            {"name": "Название", "api_name": "title", "type": "text"},
            {"name": "Описание", "api_name": "description", "type": "long_text"},
            {
                "name": "Сумма",
                "api_name": "amount",
                "type": "money",
                "options": {"currency": "RUB"},
            },
            {"name": "Количество", "api_name": "quantity", "type": "number"},
            {"name": "Дата", "api_name": "deal_date", "type": "date"},
            {"name": "Создана", "api_name": "created", "type": "datetime"},
            {"name": "Оплачена", "api_name": "paid", "type": "checkbox"},
            {
                "name": "Стадия",
                "api_name": "stage",
                "type": "select",
                "options": {"choices": [{"label": s} for s in STAGES]},
            },
            {"name": "Email", "api_name": "email", "type": "email"},
            {"name": "Телефон", "api_name": "phone", "type": "phone"},
        ],
    }
    return clients, deals


def import_options() -> dict[str, Any]:
    """What the bench asks of every import."""
    return {
        "mode": "upsert",
        "key": ["number"],
        "link_keys": {"client": "inn"},
        "mapping": {
            "Номер": "number",
            "Клиент ИНН": "client",
            "Название": "title",
            "Описание": "description",
            "Сумма": "amount",
            "Количество": "quantity",
            "Дата": "deal_date",
            "Создана": "created",
            "Оплачена": "paid",
            "Стадия": "stage",
            "Email": "email",
            "Телефон": "phone",
        },  # fmt: skip
        "date_format": "дд.мм.гггг",
        "decimal_comma": True,
    }


def pools(seed: int) -> dict[str, list[Any]]:
    """Faker values per column, half Russian and half English."""
    from faker import Faker

    fake = Faker(["ru_RU", "en_US"])
    Faker.seed(seed)
    return {
        "company": [fake.company() for _ in range(POOL)],
        "title": [fake.catch_phrase() for _ in range(POOL)],
        "text": [fake.sentence(nb_words=14) for _ in range(POOL)],
        "email": [fake.email() for _ in range(POOL)],
    }  # fmt: skip


def phone(i: int) -> str:
    """Client i's contact phone as people type it."""
    return f"+7 9{i % 90 + 10} {i // 10000 % 1000:03d}-{i // 100 % 100:02d}-{i % 100:02d}"


def inn(i: int) -> str:
    """A 10-digit INN-like key of client i."""
    return f"77{i:08d}"


def write_files(tmp: Path, rows: int, clients: int, seed: int = 7) -> tuple[Path, Path]:
    """The clients file and the deals file (cp1251, `;`, decimal commas, dd.mm.yyyy)."""
    p = pools(seed)
    rnd = random.Random(seed)
    clients_path = tmp / "clients.csv"
    with clients_path.open("w", encoding="cp1251", errors="replace", newline="") as fh:
        w = csv.writer(fh, delimiter=";")
        w.writerow(["Наименование", "ИНН"])
        for i in range(clients):
            w.writerow([p["company"][i % POOL], inn(i)])
    deals_path = tmp / "deals.csv"
    start = date(2019, 1, 1)
    with deals_path.open("w", encoding="cp1251", errors="replace", newline="") as fh:
        w = csv.writer(fh, delimiter=";")
        w.writerow(HEADERS)
        for i in range(rows):
            client = rnd.randrange(clients)
            day = start + timedelta(days=rnd.randint(0, 2500))
            amount = rnd.randint(100, 500_000_000)
            w.writerow(
                [
                    f"СД-{i:07d}",
                    inn(client),
                    p["title"][rnd.randrange(POOL)],
                    p["text"][rnd.randrange(POOL)],
                    f"{amount // 100:,}".replace(",", " ") + f",{amount % 100:02d}",
                    str(rnd.randint(1, 500)),
                    day.strftime("%d.%m.%Y"),
                    f"{day:%d.%m.%Y} {rnd.randint(8, 19):02d}:{rnd.randint(0, 59):02d}:00",
                    rnd.choice(("да", "нет")),
                    rnd.choice(STAGES),
                    # The client's contact: repeats on the client's deals, as in 1C.
                    f"{client}.{p['email'][client % POOL]}",
                    phone(client),
                ]
            )
    return clients_path, deals_path


# ----- the raw baseline ----------------------------------------------------------------------
def raw_rows(path: Path, chunk: int) -> list[tuple[Any, ...]]:
    """The deals as typed driver values (parsed here, untimed) — only the first chunk's
    worth of distinct rows is kept in memory; the timed loop cycles through them."""
    out = []
    with path.open(encoding="cp1251", newline="") as fh:
        r = csv.reader(fh, delimiter=";")
        next(r)
        for cells in r:
            d = datetime.strptime(cells[6], "%d.%m.%Y").date().isoformat()
            amount = int(cells[4].replace(" ", "").replace(",", ""))
            out.append(
                (
                    cells[0],
                    cells[2],
                    cells[3],
                    amount,
                    int(cells[5]),
                    d,
                    cells[7],
                    int(cells[8] == "да"),
                    STAGES.index(cells[9]) + 1,
                    cells[10],
                    cells[11],
                    int(cells[1][2:]) + 1,
                )  # fmt: skip
            )
            if len(out) >= chunk * 4:
                break
    return out


RAW_COLUMNS = (
    "number TEXT UNIQUE, title TEXT, description TEXT, amount BIGINT, quantity BIGINT, "
    "deal_date TEXT, created TEXT, paid INTEGER, stage INTEGER, email TEXT, phone TEXT"
)


def raw_baseline(env: Env, sample: list[tuple[Any, ...]], total: int, chunk: int) -> float:
    """Rows/s of the raw driver: the same rows and link rows, one commit per chunk."""
    pg = env.database == "postgresql"
    if pg:
        conn: Any = env.workspace().engine.raw_connection()
    else:
        conn = sqlite3.connect(env.tmp / "raw.db", isolation_level=None)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
    cur = conn.cursor()
    serial = "BIGSERIAL" if pg else "INTEGER"
    cur.execute(f"CREATE TABLE raw_rows (id {serial} PRIMARY KEY, {RAW_COLUMNS})")
    cur.execute(
        "CREATE TABLE raw_links (src_id BIGINT, dst_id BIGINT, PRIMARY KEY (src_id, dst_id))"
    )
    if pg:
        conn.commit()
    cols = (
        "id, number, title, description, amount, quantity, deal_date, created, paid, stage, "
        "email, phone"
    )
    start = time.perf_counter()
    done = 0
    while done < total:
        n = min(chunk, total - done)
        rows = [
            (done + k + 1, f"R{done + k}", *sample[(done + k) % len(sample)][1:11])
            for k in range(n)
        ]
        links = [(done + k + 1, sample[(done + k) % len(sample)][11]) for k in range(n)]
        if pg:
            with cur.copy(f"COPY raw_rows ({cols}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
            with cur.copy("COPY raw_links (src_id, dst_id) FROM STDIN") as copy:
                for link in links:
                    copy.write_row(link)
            conn.commit()
        else:
            cur.execute("BEGIN")
            cur.executemany(f"INSERT INTO raw_rows ({cols}) VALUES ({', '.join('?' * 12)})", rows)
            cur.executemany("INSERT INTO raw_links VALUES (?, ?)", links)
            cur.execute("COMMIT")
        done += n
    elapsed = time.perf_counter() - start
    cur.execute("DROP TABLE raw_rows")
    cur.execute("DROP TABLE raw_links")
    conn.commit()
    conn.close()
    return total / elapsed


# ----- running imports in a subprocess ---------------------------------------------------------
def cli(env: Env, *args: str) -> list[str]:
    """The `kartoteka` command line for this instance."""
    workspace = ["--workspace", env.settings.default_workspace]
    return [sys.executable, "-m", "kartoteka.cli", *args, *workspace]


def run_import(env: Env, path: Path, catalog: str, options: dict[str, Any]) -> dict[str, Any]:
    """Import in a subprocess; its seconds, peak RSS (MB) and the job's counts."""
    args = cli(env, "import", str(path), "--catalog", catalog, "--options", json.dumps(options),
               "--json")  # fmt: skip
    start = time.perf_counter()
    proc = subprocess.Popen(args, env=_env(env), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out, err = proc.communicate()
    seconds = time.perf_counter() - start
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    job = _last_json(out)
    if job is None:
        raise RuntimeError(f"import failed: {err.decode()[-2000:]}")
    cpu = usage.ru_utime + usage.ru_stime - _cpu_before[0]
    _cpu_before[0] = usage.ru_utime + usage.ru_stime
    _remember_stamps(env, int(job["id"]))
    # ru_maxrss of children is the largest child so far: the imports only grow the data.
    return {"seconds": seconds, "rss_mb": usage.ru_maxrss / 1024, "cpu": cpu, "job": job}


_cpu_before = [0.0]


def _last_json(out: bytes) -> dict[str, Any] | None:
    for line in reversed(out.decode().splitlines()):
        if line.startswith("{"):
            return dict(json.loads(line))
    return None


def _env(env: Env) -> dict[str, str]:
    e = env.server_env()
    e["PYTHONPATH"] = str(ROOT)
    return e


def _latest_job(ws: Any) -> tuple[int, int] | None:
    import sqlalchemy as sa

    from kartoteka.storage import schema

    t = schema.imports
    with ws.engine.connect() as conn:
        row = conn.execute(sa.select(t.c.id, t.c.processed).order_by(t.c.id.desc())).first()
    return (int(row[0]), int(row[1] or 0)) if row else None


def count_rows(env: Env, catalog: Any) -> tuple[int, int]:
    """Records and distinct numbers in the deals catalog."""
    import sqlalchemy as sa

    table = catalog.table
    number = catalog.by_api_name["number"].column
    with env.workspace().engine.connect() as conn:
        n = conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()
        d = conn.execute(sa.select(sa.func.count(sa.distinct(table.c[number])))).scalar_one()
    return int(n), int(d)


def job_seconds(job: dict[str, Any]) -> float:
    """Seconds from the job's creation to its end (process start-up and the search
    catch-up after it are not the import's), from the stored stamps (microseconds; the
    API's have whole seconds)."""
    stored = _stored_stamps.get(int(job["id"]))
    if stored is not None:
        return max(stored, 0.001)
    start = datetime.fromisoformat(job["created_at"].replace("Z", "+00:00"))
    end = datetime.fromisoformat(job["finished_at"].replace("Z", "+00:00"))
    # The stamps have whole seconds: a tiny run is counted as one second, not zero.
    return max((end - start).total_seconds(), 1.0)


#: Job id -> seconds between its stored created_at and finished_at (`run_import`).
_stored_stamps: dict[int, float] = {}


def _remember_stamps(env: Env, job_id: int) -> None:
    import sqlalchemy as sa

    from kartoteka.storage import schema

    t = schema.imports
    with env.workspace().engine.connect() as conn:
        row = conn.execute(
            sa.select(t.c.created_at, t.c.finished_at).where(t.c.id == job_id)
        ).first()
    if row is not None and row.finished_at is not None:
        _stored_stamps[job_id] = (row.finished_at - row.created_at).total_seconds()


def main() -> None:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--rows", type=int, default=None, help="deals (1,000,000; quick 100,000)")
    p.add_argument("--skip-resume", action="store_true")
    args = p.parse_args()
    rows = args.rows or (100_000 if args.quick else 1_000_000)
    clients = max(100, rows // 20)
    with environment(args.database_url) as env:
        results = Results("bench_import", env.database, {"rows": rows, "clients": clients})
        clients_spec, deals_spec = catalog_specs()
        create_catalog(env, clients_spec)
        target = env.workspace().meta().catalog("clients")
        deals_spec["fields"][1]["options"] = {"catalog": target.id}
        create_catalog(env, deals_spec)
        t0 = time.perf_counter()
        clients_path, deals_path = write_files(env.tmp, rows, clients)
        print(f"files written in {time.perf_counter() - t0:.1f} s", flush=True)
        run_import(env, clients_path, "clients", {"mode": "upsert", "key": ["inn"]})
        from kartoteka.importer.runner import CHUNK_ROWS

        raw = raw_baseline(env, raw_rows(deals_path, CHUNK_ROWS), rows, CHUNK_ROWS)
        raw_name = "raw " + ("executemany" if env.database == "sqlite" else "COPY")
        first = run_import(env, deals_path, "deals", import_options())
        seconds = job_seconds(first["job"])
        rate = rows / seconds
        print(f"first import: {first}", flush=True)
        goal = 30_000 if env.database == "sqlite" else 20_000
        results.add(
            "import (upsert by number, link by INN)", rate, "rows/s", raw, raw_name,
            f">= {goal:,}; <= 3x raw time", rate >= goal and raw / rate <= 3,
            note=f"{raw / rate:.2f}x raw time; {first['cpu']:.1f} CPU s in the process",
        )  # fmt: skip
        results.add("peak RSS, import process", first["rss_mb"], "MB", target="<= 400",
                    ok=first["rss_mb"] <= 400)  # fmt: skip
        again = run_import(env, deals_path, "deals", import_options())
        print(f"re-import: {again}", flush=True)
        speedup = seconds / job_seconds(again["job"])
        results.add(
            "re-import, all unchanged", rows / job_seconds(again["job"]), "rows/s",
            rate, "first import", ">= 2x first", speedup >= 2,
            note=f"{speedup:.2f}x faster; unchanged {again['job']['unchanged']:,}; "
            f"{again['cpu']:.1f} CPU s in the process ({first['cpu'] / again['cpu']:.2f}x less)",
        )  # fmt: skip
        deals = env.workspace().meta().catalog("deals")
        n, distinct = count_rows(env, deals)
        results.add("records after both", n, "records", target=f"== {rows:,}",
                    ok=n == distinct == rows)  # fmt: skip
        if not args.skip_resume:
            _resume_rows(env, results, deals_spec, target, deals_path, rows)
        results.print()
        results.write(args.json)


def _resume_rows(env: Env, results: Results, spec: dict[str, Any], target: Any, path: Path,
                 rows: int) -> None:  # fmt: skip
    spec = {**spec, "name": "Сделки 2", "api_name": "deals2"}
    spec["fields"][1]["options"] = {"catalog": target.id}
    create_catalog(env, spec)
    outcome = kill_and_resume_into(env, path, rows)
    catalog = env.workspace().meta().catalog("deals2")
    n, distinct = count_rows(env, catalog)
    results.add("resume after SIGKILL (mode create)", rows, "rows",
                target="every row exactly once", ok=n == distinct == rows,
                note=f"killed at {outcome['killed_at']:,}; records {n:,}, distinct {distinct:,}; "
                f"resume took {outcome['seconds']:.1f} s")  # fmt: skip


def kill_and_resume_into(env: Env, path: Path, total: int) -> dict[str, Any]:
    """Import into deals2 (mode create), SIGKILL at about half, resume; the counts after."""
    catalog = "deals2"
    options = {**import_options(), "mode": "create", "key": []}
    args = cli(env, "import", str(path), "--catalog", catalog, "--options", json.dumps(options),
               "--json")  # fmt: skip
    ws = env.workspace()
    before = _latest_job(ws)
    proc = subprocess.Popen(args, env=_env(env), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    job_id, processed = None, 0
    while proc.poll() is None:
        time.sleep(0.1)
        job = _latest_job(ws)
        if job is not None and (before is None or job[0] > before[0]):
            job_id, processed = job
            if processed >= total // 2:
                os.kill(proc.pid, signal.SIGKILL)
                break
    proc.wait()
    assert job_id is not None, "the import never wrote its job row"
    start = time.perf_counter()
    resumed = subprocess.run(
        cli(env, "import", "--resume", str(job_id), "--json"), env=_env(env), capture_output=True
    )
    seconds = time.perf_counter() - start
    job = _last_json(resumed.stdout)
    if job is None:
        raise RuntimeError(f"resume failed: {resumed.stderr.decode()[-2000:]}")
    return {"killed_at": processed, "seconds": seconds, "job": job}


if __name__ == "__main__":
    main()
