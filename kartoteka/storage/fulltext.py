"""Text folding and full-text search: the SQL that differs between SQLite and PostgreSQL.

Folding is what case-insensitive comparisons compare: the text in lower case and,
where the workspace folds ё (the default), with ё written as е. Python's
`str.lower` and PostgreSQL's `lower()` (UTF-8 database) agree on Cyrillic and Latin;
SQLite's own `lower()` folds ASCII only, so a SQLite connection gets the Python
function registered as `kt_fold`.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Connection
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement
from sqlalchemy.sql.util import ClauseAdapter

from . import schema


def fold_text(text: str, yo: bool = True) -> str:
    """Lower case, and ё as е when `yo`: the form case-insensitive comparisons use."""
    low = text.lower()
    return low.replace("ё", "е") if yo else low


def _sqlite_fold(value: Any, yo: Any) -> Any:
    if not isinstance(value, str):
        return value
    return fold_text(value, bool(yo))


def register_sqlite_functions(dbapi_connection: Any) -> None:
    """Install `kt_fold(text, yo)` on a new SQLite connection (deterministic: indexable)."""
    dbapi_connection.create_function("kt_fold", 2, _sqlite_fold, deterministic=True)
    dbapi_connection.create_function("kt_search_recheck", 3, _recheck, deterministic=True)


class folded(FunctionElement[str]):
    """SQL: the folded form of a text expression (ё kept apart from е)."""

    type = sa.Text()
    name = "kt_fold"
    inherit_cache = True
    yo = False


class folded_yo(folded):
    """SQL: the folded form of a text expression, with ё as е."""

    name = "kt_fold_yo"
    inherit_cache = True
    yo = True


@compiles(folded)
def _fold_sqlite(element: folded, compiler: SQLCompiler, **kw: Any) -> str:
    arg = compiler.process(element.clauses, **kw)
    return f"kt_fold({arg}, {1 if element.yo else 0})"


@compiles(folded, "postgresql")
def _fold_pg(element: folded, compiler: SQLCompiler, **kw: Any) -> str:
    arg = compiler.process(element.clauses, **kw)
    if element.yo:
        return f"translate(lower({arg}), 'ё', 'е')"
    return f"lower({arg})"


def fold_sql(expr: Any, yo: bool) -> folded:
    """The folded form of `expr` in SQL, matching `fold_text` on both dialects."""
    return folded_yo(expr) if yo else folded(expr)


def like_escape(text: str) -> str:
    """Escape LIKE wildcards (the escape character is a backslash)."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


# ----- full-text index ------------------------------------------------------------------
#
# Each catalog `c<id>` has its index `search_c<id>`: one row per record with `body` (the
# record's stems, in field order) and `parts` (JSON: the stems of each field, so a
# search can be limited to the fields the reader sees), and `search_c<id>_words`, the
# catalog's distinct stems (a word stays when its records go: it then matches nothing).
# SQLite: an FTS5 table whose rowid is the record id; its `fts5vocab` table counts the
# records of each stem (typo tolerance), the words table turns a prefix into the stems
# it stands for. PostgreSQL: a table whose `tsvector` the server generates from the
# same stems (`simple` keeps each stem as it is, positions kept for phrases) with a GIN
# index; the words are trigram-indexed with pg_trgm, where typo-tolerant search looks
# for words near a query's word.

STATE = "search_state"
FUZZY_LIMIT = 8
#: PostgreSQL: a GIN index is built in this much memory (the server's default, 64 MB,
#: makes the build of a million records' index spill to disk several times).
BUILD_MEMORY = "128MB"
#: PostgreSQL: how many times the cap of matches a count looks at among the newest index
#: rows before asking the GIN index (`matching`).
PROBE = 5
#: PostgreSQL: the trigram similarity a word needs to be a typo candidate (two edits in
#: a five-letter word score about 0.2).
SIMILARITY = "0.2"
#: SQLite: a prefix standing for at most this many stems is searched as those stems
#: (FTS5 reads each stem's records newest first and stops after a page); a broader
#: prefix stays an FTS5 prefix query, which gathers all its records before the first.
PREFIX_STEMS = 64


@dataclass(frozen=True)
class Clause:
    """One part of a query: its stems in order (a phrase when several), prefix on the last.

    `alternatives` (typo-tolerant search) are stems any of which may stand for the one
    token of a single-word clause.
    """

    tokens: tuple[str, ...]
    prefix: bool = False
    alternatives: tuple[str, ...] = ()


def matches(clauses: list[Clause], stems: list[str]) -> bool:
    """Does a document (its stems in order) satisfy every clause?"""
    return all(_has(clause, stems) for clause in clauses)


def _has(clause: Clause, stems: list[str]) -> bool:
    if clause.alternatives:
        return any(s in clause.alternatives for s in stems)
    n = len(clause.tokens)
    head, want = list(clause.tokens[:-1]), clause.tokens[-1]
    for start in range(len(stems) - n + 1):
        if stems[start : start + n - 1] != head:
            continue
        last = stems[start + n - 1]
        if last == want or (clause.prefix and last.startswith(want)):
            return True
    return False


def _recheck(parts: Any, field_ids: Any, clauses_json: Any) -> int:
    """SQLite `kt_search_recheck`: do the listed fields' stems alone satisfy the query?"""
    if not isinstance(parts, str):
        return 0
    stored = json.loads(parts)
    stems = " ".join(stored.get(fid, "") for fid in str(field_ids).split(",")).split()
    clauses = [Clause(tuple(c[0]), bool(c[1]), tuple(c[2])) for c in json.loads(clauses_json)]
    return 1 if matches(clauses, stems) else 0


def index_name(catalog_id: int) -> str:
    """The name of a catalog's full-text index table."""
    return f"search_c{int(catalog_id)}"


def index_table(catalog_id: int) -> sa.TableClause:
    """A catalog's index as a lightweight table (rowid is the record id on SQLite)."""
    return sa.table(
        index_name(catalog_id),
        sa.column("rowid", sa.BigInteger()),
        sa.column("id", sa.BigInteger()),
        sa.column("body", sa.Text()),
        sa.column("parts", sa.Text()),
        sa.column("tsv", postgresql.TSVECTOR()),
    )


def record_id_column(dialect: str, table: sa.TableClause) -> Any:
    """The column of `index_table` holding the record id."""
    return table.c.rowid if dialect == "sqlite" else table.c.id


state_table = sa.Table(
    STATE,
    sa.MetaData(),
    sa.Column("catalog_id", sa.BigInteger, primary_key=True),
    sa.Column("signature", sa.Text, nullable=False),
)


def ensure_state_table(conn: Connection) -> None:
    """Create the table of index signatures (one row per indexed catalog) if missing."""
    state_table.create(conn, checkfirst=True)


def lock_index(conn: Connection, catalog_id: int) -> None:
    """Serialise building a catalog's index (PostgreSQL: a transaction advisory lock).

    Two first writes to a catalog would otherwise both create its index table, and the
    second would fail. SQLite writers are serialised already.
    """
    if conn.dialect.name == "postgresql":
        key = 0x6B74_0000_0000 + int(catalog_id)  # "kt" + the catalog id
        conn.execute(sa.select(sa.func.pg_advisory_xact_lock(key)))


def _has_state_table(conn: Connection) -> bool:
    # One light query (SQLAlchemy's inspector cost ~1 ms of a 6 ms batch write).
    if conn.dialect.name == "postgresql":
        found = conn.exec_driver_sql(f"SELECT to_regclass('{STATE}') IS NOT NULL").scalar()
    else:
        found = conn.exec_driver_sql(
            f"SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = '{STATE}'"
        ).scalar()
    return bool(found)


def read_signature(conn: Connection, catalog_id: int) -> str | None:
    """What the catalog's index was built for (None: no index yet)."""
    if not _has_state_table(conn):
        return None
    return conn.execute(
        sa.select(state_table.c.signature).where(state_table.c.catalog_id == catalog_id)
    ).scalar()


def write_signature(conn: Connection, catalog_id: int, signature: str) -> None:
    """Record what the catalog's index now holds."""
    ensure_state_table(conn)
    conn.execute(sa.delete(state_table).where(state_table.c.catalog_id == catalog_id))
    conn.execute(sa.insert(state_table).values(catalog_id=catalog_id, signature=signature))


def trigram_schema(conn: Connection) -> str | None:
    """PostgreSQL: the schema pg_trgm is installed in, creating it where allowed."""
    found = conn.execute(
        sa.text("SELECT extnamespace::regnamespace::text FROM pg_extension WHERE extname='pg_trgm'")
    ).scalar()
    if found is not None:
        return str(found)
    try:
        with conn.begin_nested():
            conn.exec_driver_sql("CREATE EXTENSION IF NOT EXISTS pg_trgm SCHEMA public")
    except sa.exc.DBAPIError:
        return None  # not allowed (no privilege, not installed): search works without typos
    return "public"


def create_index(conn: Connection, catalog_id: int) -> None:
    """(Re)create a catalog's empty index.

    On PostgreSQL the table comes without its GIN indexes: filling it first and
    indexing once (`finish_index`) is many times faster than indexing row by row.
    """
    drop_index(conn, catalog_id)
    name = index_name(catalog_id)
    if conn.dialect.name == "sqlite":
        conn.exec_driver_sql(
            f"CREATE VIRTUAL TABLE {name} USING fts5(body, parts UNINDEXED, "
            "tokenize = 'unicode61 remove_diacritics 0')"
        )
        conn.exec_driver_sql(f"CREATE VIRTUAL TABLE {name}_vocab USING fts5vocab({name}, 'row')")
        conn.exec_driver_sql(f"CREATE TABLE {name}_words (word TEXT PRIMARY KEY) WITHOUT ROWID")
        return
    conn.exec_driver_sql(
        f"CREATE TABLE {name} (id BIGINT PRIMARY KEY, body TEXT NOT NULL, "
        "parts TEXT NOT NULL, tsv TSVECTOR GENERATED ALWAYS AS "
        "(to_tsvector('simple'::regconfig, body)) STORED)"
    )
    conn.exec_driver_sql(f"CREATE TABLE {name}_words (word TEXT PRIMARY KEY)")


def finish_index(conn: Connection, catalog_id: int) -> None:
    """After the first fill: PostgreSQL's GIN indexes (full-text; with pg_trgm, trigrams
    of the catalog's distinct stems)."""
    if conn.dialect.name != "postgresql":
        return
    name = index_name(catalog_id)
    conn.exec_driver_sql(f"SET LOCAL maintenance_work_mem = '{BUILD_MEMORY}'")
    conn.exec_driver_sql(f"CREATE INDEX IF NOT EXISTS {name}_tsv ON {name} USING GIN (tsv)")
    trgm = trigram_schema(conn)
    if trgm is not None:
        conn.exec_driver_sql(
            f'CREATE INDEX {name}_words_trgm ON {name}_words USING GIN (word "{trgm}".gin_trgm_ops)'
        )


def drop_index(conn: Connection, catalog_id: int) -> None:
    """Remove a catalog's index (and its signature) if it exists."""
    name = index_name(catalog_id)
    if conn.dialect.name == "sqlite":
        conn.exec_driver_sql(f"DROP TABLE IF EXISTS {name}_vocab")
    conn.exec_driver_sql(f"DROP TABLE IF EXISTS {name}_words")
    conn.exec_driver_sql(f"DROP TABLE IF EXISTS {name}")
    if sa.inspect(conn).has_table(STATE):
        conn.execute(sa.delete(state_table).where(state_table.c.catalog_id == catalog_id))


def indexed_catalogs(conn: Connection) -> list[int]:
    """Ids of the catalogs that have an index table."""
    names = sa.inspect(conn).get_table_names()
    return sorted(int(n[8:]) for n in names if n.startswith("search_c") and n[8:].isdecimal())


def index_exists(conn: Connection, catalog_id: int) -> bool:
    """Does the catalog's index table exist?"""
    return bool(sa.inspect(conn).has_table(index_name(catalog_id)))


def _parts_json(parts: dict[int, str]) -> str:
    """The `parts` column: each field's stems under its id."""
    return orjson.dumps({str(f): stems for f, stems in parts.items()}).decode()


def insert_documents(
    conn: Connection, catalog_id: int, docs: list[tuple[int, dict[int, str]]]
) -> None:
    """Add index rows for records that have none: (record id, {field id: "stem stem"}).

    Rows go to the driver as plain tuples: a rebuild writes millions of them.
    """
    name = index_name(catalog_id)
    if conn.dialect.name == "postgresql":
        _copy_documents(conn, name, docs)
        return
    rows = [(rid, " ".join(parts.values()), _parts_json(parts)) for rid, parts in docs if parts]
    if rows:
        conn.exec_driver_sql(f"INSERT INTO {name} (rowid, body, parts) VALUES (?, ?, ?)", rows)
        words = [(w,) for w in set(" ".join(r[1] for r in rows).split())]
        conn.exec_driver_sql(f"INSERT OR IGNORE INTO {name}_words (word) VALUES (?)", words)


def _copy_documents(conn: Connection, name: str, docs: list[tuple[int, dict[int, str]]]) -> None:
    """PostgreSQL: the rows by COPY (the server makes each `tsvector`), and their stems
    into the catalog's words, in the caller's transaction."""
    # Row-by-row INSERTs ran at ~500 rows/s.
    rows: list[tuple[Any, ...]] = []
    for rid, parts in docs:
        body = " ".join(parts.values())
        if body:
            rows.append((rid, body, _parts_json(parts)))
    if not rows:
        return
    cur: Any = conn.connection.cursor()
    try:
        with cur.copy(f"COPY {name} (id, body, parts) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
    finally:
        cur.close()
    _insert_words(conn, name, set(" ".join(r[1] for r in rows).split()))


def _insert_words(conn: Connection, name: str, words: set[str]) -> None:
    """PostgreSQL: add stems to the catalog's words."""
    conn.execute(
        sa.text(
            f"INSERT INTO {name}_words (word) SELECT unnest(CAST(:words AS text[])) "
            "ON CONFLICT DO NOTHING"
        ),
        {"words": sorted(words)},
    )


Documents = list[tuple[int, dict[int, str]]]


@contextlib.contextmanager
def filling(
    conn: Connection, catalog_id: int, streaming: bool
) -> Iterator[Callable[[Documents], None]]:
    """A function adding index rows to a new index (`insert_documents`, chunk by chunk).

    `streaming` (the records are read through another connection), PostgreSQL: one COPY
    stays open for the whole fill, so the server makes the rows' vectors and updates the
    GIN index (made empty first: no build left for the end) while this process analyses
    the next chunk, both cores at work; the words go in at the end.
    """
    if conn.dialect.name != "postgresql" or not streaming:
        yield lambda docs: insert_documents(conn, catalog_id, docs)
        return
    name = index_name(catalog_id)
    conn.exec_driver_sql(f"CREATE INDEX {name}_tsv ON {name} USING GIN (tsv)")
    words: set[str] = set()
    cur: Any = conn.connection.cursor()
    try:
        with cur.copy(f"COPY {name} (id, body, parts) FROM STDIN") as copy:

            def write(docs: Documents) -> None:
                bodies = []
                for rid, parts in docs:
                    body = " ".join(parts.values())
                    if body:
                        copy.write_row((rid, body, _parts_json(parts)))
                        bodies.append(body)
                words.update(" ".join(bodies).split())

            yield write
    finally:
        cur.close()
    # What the last inserts left in the index's pending list, merged now rather than
    # scanned by every search until autovacuum comes.
    conn.exec_driver_sql(f"SELECT gin_clean_pending_list('{name}_tsv'::regclass)")
    _insert_words(conn, name, words)


def delete_documents(conn: Connection, catalog_id: int, record_ids: list[int]) -> None:
    """Remove these records from the catalog's index."""
    table = index_table(catalog_id)
    col = record_id_column(conn.dialect.name, table)
    for start in range(0, len(record_ids), 900):
        conn.execute(sa.delete(table).where(col.in_(record_ids[start : start + 900])))


class TSQuery(sa.types.UserDefinedType[str]):
    """PostgreSQL's `tsquery` (for casting the query text)."""

    cache_ok = True

    def get_col_spec(self, **kw: Any) -> str:
        return "tsquery"


def _fts5_clause(c: Clause) -> str:
    """The FTS5 MATCH text of one clause."""
    if c.alternatives:
        return "(" + " OR ".join(f'"{a}"' for a in c.alternatives) + ")"
    return '"' + " ".join(c.tokens) + '"' + ("*" if c.prefix else "")


def _fts5_match_text(catalog_id: int, clauses: list[Clause]) -> Any:
    """SQL giving the FTS5 MATCH text: a one-word prefix becomes its stems (`PREFIX_STEMS`)."""
    pieces: list[Any] = []
    for c in clauses:
        if c.prefix and len(c.tokens) == 1:
            pieces.append(_prefix_stems(catalog_id, c))
        else:
            pieces.append(sa.literal(_fts5_clause(c), sa.Text()))
    text = pieces[0]
    for piece in pieces[1:]:
        text = text + sa.literal(" AND ", sa.Text()) + piece
    return text


def _prefix_stems(catalog_id: int, clause: Clause) -> Any:
    """`("stem" OR "stem")` of the catalog's words starting with the prefix, or the
    prefix query itself when none or more than PREFIX_STEMS do (evaluated once, in SQL)."""
    token = clause.tokens[0]
    words = sa.table(f"{index_name(catalog_id)}_words", sa.column("word", sa.Text()))
    found = (
        sa.select(words.c.word)
        .where(words.c.word >= token, words.c.word < token + "\U0010ffff")
        .limit(PREFIX_STEMS + 1)
        .subquery()
    )
    quoted = sa.literal('"', sa.Text()) + found.c.word + sa.literal('"', sa.Text())
    listed = (
        sa.literal("(", sa.Text())
        + sa.func.group_concat(quoted, " OR ")
        + sa.literal(")", sa.Text())
    )
    stems = sa.select(sa.case((sa.func.count() <= PREFIX_STEMS, listed))).scalar_subquery()
    return sa.func.coalesce(stems, sa.literal(_fts5_clause(clause), sa.Text()))


def ts_query(clauses: list[Clause]) -> str:
    """The PostgreSQL tsquery text of a query (stems quoted, phrases with <->)."""
    parts = []
    for c in clauses:
        if c.alternatives:
            parts.append("(" + " | ".join(f"'{a}'" for a in c.alternatives) + ")")
            continue
        words = [f"'{t}'" for t in c.tokens]
        if c.prefix:
            words[-1] += ":*"
        parts.append("(" + " <-> ".join(words) + ")")
    return " & ".join(parts)


@dataclass
class Match:
    """SQL pieces of a search over one catalog's index."""

    table: sa.TableClause
    record_id: Any
    condition: Any
    #: ORDER BY clause, best first.
    rank: Any


def match(dialect: str, catalog_id: int, clauses: list[Clause], fields: list[int] | None) -> Match:
    """Rows of the catalog's index matching every clause; `fields` limits to those fields.

    `fields` is None when the reader sees every searchable field; otherwise the match
    runs on the whole record (the index serves it) and is rechecked on their fields.
    """
    table = index_table(catalog_id)
    name = index_name(catalog_id)
    if dialect == "sqlite":
        text = _fts5_match_text(catalog_id, clauses)
        condition: Any = sa.literal_column(name).op("MATCH")(text)
        rank: Any = sa.func.bm25(sa.literal_column(name)).asc()
        if fields is not None:
            spec = json.dumps([[c.tokens, c.prefix, c.alternatives] for c in clauses])
            ids = ",".join(str(f) for f in fields)
            condition = sa.and_(condition, sa.func.kt_search_recheck(table.c.parts, ids, spec) == 1)
        return Match(table, table.c.rowid, condition, rank)
    query = sa.cast(sa.literal(ts_query(clauses)), TSQuery())
    condition = table.c.tsv.op("@@")(query)
    rank = sa.func.ts_rank(table.c.tsv, query).desc()
    if fields is not None:
        condition = sa.and_(condition, _pg_visible_tsv(table, fields).op("@@")(query))
    return Match(table, table.c.id, condition, rank)


class _IndexJoin(sa.sql.expression.Join):
    """A join read from the index side first (SQLite: CROSS JOIN fixes the order)."""

    inherit_cache = True


@compiles(_IndexJoin, "sqlite")
def _index_join_sqlite(element: _IndexJoin, compiler: SQLCompiler, **kw: Any) -> str:
    # Left to itself, SQLite may scan the catalog table and probe FTS5 once per row,
    # which costs seconds; CROSS JOIN makes the FTS5 match the outer loop.
    text = compiler.visit_join(element, **kw)
    return text.replace(" JOIN ", " CROSS JOIN ", 1)


def index_join(found: Match, table: Any) -> Any:
    """The index's matching rows joined to the catalog table (index side first)."""
    return _IndexJoin(found.table, table, table.c.id == found.record_id)


def matching(conn: Connection, found: Match, cap: int) -> int:
    """How many index rows match (rights not applied), counting at most `cap`."""
    return int(conn.execute(sa.select(matching_count(conn.dialect.name, found, cap))).scalar_one())


def matching_count(dialect: str, found: Match, cap: int) -> Any:
    """SQL (a scalar): how many index rows match (rights not applied), at most `cap`.

    PostgreSQL: the newest `PROBE` x `cap` rows are looked at first, walking the
    primary key, which stops as soon as `cap` match — a word or prefix in most records
    is decided there. The GIN index is asked only when they hold fewer: its bitmap is
    built whole before any LIMIT (58,480 entries for a prefix in 100,000 records).
    """
    one = sa.select(sa.literal(1))
    everywhere = capped_count(one.select_from(found.table).where(found.condition), cap)
    if dialect != "postgresql":
        return everywhere
    recent = newest_rows(found.table, PROBE * cap)
    condition = ClauseAdapter(recent).traverse(found.condition)
    seen = capped_count(one.select_from(recent).where(condition), cap)
    return _decided_in(seen, cap, everywhere)


def visible_count(dialect: str, found: Match, table: Any, rule: Any, cap: int, window: int) -> Any:
    """SQL (a scalar): how many records of `table` match and pass `rule`, at most `cap`.

    PostgreSQL: as `matching_count`, the newest `window` index rows first (a broad
    match reaches `cap` among them), the GIN index only when they do not.
    """
    joined = index_join(found, table)
    everywhere = capped_count(
        sa.select(sa.literal(1)).select_from(joined).where(found.condition, rule), cap
    )
    if dialect != "postgresql":
        return everywhere
    recent = newest_rows(found.table, window)
    condition = ClauseAdapter(recent).traverse(found.condition)
    near = recent.join(table, table.c.id == recent.c.id)
    seen = capped_count(sa.select(sa.literal(1)).select_from(near).where(condition, rule), cap)
    return _decided_in(seen, cap, everywhere)


def newest_rows(table: sa.TableClause, size: int) -> Any:
    """PostgreSQL: the index's newest `size` rows (a walk down its primary key)."""
    newest = sa.select(table.c.id, table.c.parts, table.c.tsv).order_by(table.c.id.desc())
    return newest.limit(size).subquery()


def _decided_in(seen: Any, cap: int, everywhere: Any) -> Any:
    # `seen` counts at most `cap`, so reaching it means `cap`; PostgreSQL evaluates a
    # CASE branch's subquery only when that branch is taken, so `everywhere` (the GIN
    # index) runs only when the newest rows did not decide.
    return sa.case((seen >= cap, sa.literal(cap)), else_=everywhere)


def capped_count(rows: Any, cap: int) -> Any:
    """SQL (a scalar): how many rows `rows` gives, counting at most `cap`."""
    inner = rows.limit(cap).subquery()
    return sa.select(sa.func.count()).select_from(inner).scalar_subquery()


def _pg_visible_tsv(table: sa.TableClause, fields: list[int]) -> Any:
    # Only readers with hidden or masked fields pay for this recheck, so the stems of
    # each field are stored as text and turned into a vector here (`simple` keeps each
    # stem as it is; `||` shifts positions, so phrases stay within a field).
    parts = sa.cast(table.c.parts, postgresql.JSONB())
    vectors = [
        sa.func.to_tsvector(
            sa.literal_column("'simple'::regconfig"), sa.func.coalesce(parts[str(f)].astext, "")
        )
        for f in fields
    ]
    if not vectors:
        return sa.cast(sa.literal(""), postgresql.TSVECTOR())
    result: Any = vectors[0]
    for v in vectors[1:]:
        result = result.op("||")(v)
    return result


def vocabulary_near(conn: Connection, catalog_id: int, token: str) -> list[str]:
    """Indexed stems within a small edit distance of `token` (typo tolerance): within 1
    edit for words up to 4 letters, 2 for longer ones; the closest first."""
    docs: Any
    if conn.dialect.name == "sqlite":
        vocab = sa.table(f"{index_name(catalog_id)}_vocab", sa.column("term"), sa.column("doc"))
        term, docs = vocab.c.term, vocab.c.doc
    else:
        words = sa.table(f"{index_name(catalog_id)}_words", sa.column("word"))
        term, docs = words.c.word, sa.literal(0)
    first = token[0]
    near: Any = sa.and_(term >= first, term < chr(ord(first) + 1))
    trgm = trigram_schema(conn) if conn.dialect.name == "postgresql" else None
    if trgm is not None:
        # The trigram index finds candidates (a typo in the first letter too) at a
        # lenient similarity; the edit distance below decides, as on SQLite.
        threshold = sa.func.set_config("pg_trgm.similarity_threshold", SIMILARITY, False)
        conn.execute(sa.select(threshold))
        near = term.op(f'OPERATOR("{trgm}".%)')(token)
    rows = conn.execute(sa.select(term, docs).where(near)).all()
    limit = 1 if len(token) <= 4 else 2
    scored = []
    for found, count in rows:
        if abs(len(found) - len(token)) > limit or found == token:
            continue
        distance = edit_distance(token, found, limit)
        if distance <= limit:
            scored.append((distance, -int(count or 0), found))
    return [found for _, _, found in sorted(scored)[:FUZZY_LIMIT]]


def edit_distance(a: str, b: str, limit: int) -> int:
    """Levenshtein distance with transpositions, stopping early past `limit`."""
    previous = list(range(len(b) + 1))
    before: list[int] = []
    for i, ca in enumerate(a, start=1):
        current = [i]
        for j, cb in enumerate(b, start=1):
            cost = 0 if ca == cb else 1
            value = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                value = min(value, before[j - 2] + 1)
            current.append(value)
        if min(current) > limit:
            return limit + 1
        before, previous = previous, current
    return previous[-1]


# ----- records waiting for the index (imports) ------------------------------------------
_PENDING_ROWS = {
    "postgresql": (
        "SELECT :catalog, CAST(v AS BIGINT) FROM json_array_elements_text(CAST(:ids AS json)) v"
    ),
    # (WHERE: SQLite would read ON CONFLICT as a join's ON otherwise)
    "sqlite": "SELECT :catalog, value FROM json_each(:ids) WHERE true",
}
#: Made once: building the statement cost about as much as running it.
_QUEUE_PENDING = {
    dialect: sa.text(
        f"INSERT INTO search_pending (catalog_id, record_id) {rows} "
        "ON CONFLICT (catalog_id, record_id) DO NOTHING"
    )
    for dialect, rows in _PENDING_ROWS.items()
}


def queue_pending(conn: Connection, catalog_id: int, record_ids: list[int]) -> None:
    """Note records whose index rows are to be made later (one statement, the ids as one
    array; a record noted twice stays one row)."""
    if not record_ids:
        return
    ids = orjson.dumps(sorted(set(record_ids))).decode()
    statement = _QUEUE_PENDING["postgresql" if conn.dialect.name == "postgresql" else "sqlite"]
    conn.execute(statement, {"catalog": int(catalog_id), "ids": ids})


def pending_catalogs(conn: Connection) -> list[int]:
    """Catalogs with records waiting for the index."""
    t = schema.search_pending
    return [int(r[0]) for r in conn.execute(sa.select(t.c.catalog_id).distinct())]


def take_pending(conn: Connection, catalog_id: int, size: int) -> list[int]:
    """Up to `size` waiting record ids of a catalog, lowest first."""
    t = schema.search_pending
    q = (
        sa.select(t.c.record_id)
        .where(t.c.catalog_id == catalog_id)
        .order_by(t.c.record_id)
        .limit(size)
    )
    return [int(r[0]) for r in conn.execute(q)]


def drop_pending(conn: Connection, catalog_id: int, record_ids: list[int]) -> None:
    """Forget waiting records once indexed (or when the whole index is rebuilt: None)."""
    t = schema.search_pending
    q = sa.delete(t).where(t.c.catalog_id == catalog_id)
    for start in range(0, len(record_ids), 900):
        conn.execute(q.where(t.c.record_id.in_(record_ids[start : start + 900])))


def drop_pending_all(conn: Connection, catalog_id: int) -> None:
    """Forget every waiting record of a catalog (its index was rebuilt, or it is gone)."""
    t = schema.search_pending
    conn.execute(sa.delete(t).where(t.c.catalog_id == catalog_id))


def pending_among(conn: Connection, catalog_ids: list[int]) -> set[int]:
    """Which of these catalogs have records waiting (one statement, an index probe each)."""
    if not catalog_ids:
        return set()
    t = schema.search_pending
    probes = [
        sa.select(sa.literal(int(cid), sa.Integer)).where(sa.exists().where(t.c.catalog_id == cid))
        for cid in catalog_ids
    ]
    return {int(r[0]) for r in conn.execute(sa.union_all(*probes))}


def has_pending(conn: Connection, catalog_id: int | None = None) -> bool:
    """Is any record (of this catalog) waiting for the index?"""
    t = schema.search_pending
    q = sa.select(t.c.record_id)
    if catalog_id is not None:
        q = q.where(t.c.catalog_id == catalog_id)
    return conn.execute(q.limit(1)).first() is not None
