"""Full-text search: within one catalog (the records list's `search`) and across all of them.

Rights are those of the records list: the catalog's compiled record rule is part of
the same SQL statement, fields hidden from or masked for the reader are neither
matched (the match is rechecked on the fields they read) nor shown in snippets.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from kartoteka.access import service as access
from kartoteka.catalogs.models import Catalog, Field
from kartoteka.context import Actor
from kartoteka.errors import Forbidden, ValidationFailed
from kartoteka.records import query
from kartoteka.records.read import Renderer
from kartoteka.storage import fulltext
from kartoteka.storage.engine import read_connection

from . import analyzer, attachments, documents, index, tally

DEFAULT_LIMIT = 20
MAX_LIMIT = 100
#: Workspace-wide counts stop here: "100" then means "at least 100" (products show
#: "100+"; the records list's `count` is exact). Counting further cost a scan of up to
#: this many matches per catalog on every search.
COUNT_CAP = 100
#: Up to this many matching records are ranked; beyond, the newest come first. Deciding
#: costs a scan until this many matches are found: for a phrase of two common words
#: (PostgreSQL rechecks positions row by row) 5,000 took 130 ms of a 100,000-record
#: catalog, 1,000 about a quarter of it; ranking 1,000 rows is a few milliseconds.
RANK_LIMIT = 1_000


class SearchInvalid(ValidationFailed):
    """A search query that cannot be run (422 VALIDATION on `search` or `q`)."""


@dataclass
class CatalogSearch:
    """A parsed search over one catalog for one reader."""

    catalog: Catalog
    clauses: list[fulltext.Clause]
    #: Searchable field ids the reader may match on; None: all of them.
    fields: list[int] | None
    match: fulltext.Match
    fuzzy: bool = False

    @property
    def condition(self) -> Any:
        """`id IN (matching index rows)`: combines with any filter, sort and cursor."""
        table = self.catalog.table
        return table.c.id.in_(sa.select(self.match.record_id).where(self.match.condition))


def parse(text: Any, key: str = "search") -> list[fulltext.Clause]:
    """Clauses of a query; a bad one is a 422 naming `key`."""
    try:
        return analyzer.parse_query(text)
    except analyzer.QueryError as exc:
        raise SearchInvalid.of(exc.code, key, **exc.params) from None


def readable_fields(actor: Actor, catalog: Catalog) -> list[int] | None:
    """Indexed fields (searchable ones and file fields) the actor reads in clear (None:
    every one of them)."""
    rules = access.field_rules(actor, catalog)
    fields = documents.indexed_fields(catalog)
    allowed = [
        f.id
        for f in fields
        if rules.get(f.api_name) not in ("hidden", "masked")
        and (f.ftype.storage != "links" or _reads_link_titles(actor, f))
    ]
    return None if len(allowed) == len(fields) else [documents.COMMENTS, *allowed]


def _reads_link_titles(actor: Actor, field: Field) -> bool:
    """Does the actor see, in clear, the title of every record this link field may show?

    The index holds the titles of all linked records; a reader who is shown `#id` for
    some of them (records they cannot see, a hidden or masked title field) must not
    match those titles, so the link field is left out of their search altogether.
    """
    if actor.is_admin:
        return True
    target = actor.workspace.meta().catalog(field.options.get("catalog") or 0)
    if target is None or target.title_field is None:
        return False
    if access.field_rules(actor, target).get(target.title_field.api_name) in ("hidden", "masked"):
        return False
    if field.options.get("title_public"):
        return True
    return access.can_see_catalog(actor, target) and access.record_filter(actor, target) is None


def ensure_index(actor: Actor, catalog: Catalog, waiting: bool | None = None) -> None:
    """Build or refresh the catalog's index if this process does not know it is current,
    and index the records an import left waiting, so a search finds every record.

    `waiting`: whether records wait, when the caller asked already (None: ask).
    """
    if not index.is_current(actor.workspace, catalog):
        with actor.workspace.engine.begin() as conn:
            index.ensure(conn, actor.workspace, catalog)
    if waiting is None:
        waiting = index.has_pending(actor.workspace, catalog)
    if waiting:
        index.catch_up(actor.workspace, catalog)


def prepare(actor: Actor, catalog: Catalog, text: Any) -> CatalogSearch:
    """Parse a query for one catalog and make sure its index is ready."""
    return _catalog_search(actor, catalog, parse(text))


def _catalog_search(
    actor: Actor, catalog: Catalog, clauses: list[fulltext.Clause], waiting: bool | None = None
) -> CatalogSearch:
    """Parsed clauses over one catalog, on the fields the actor reads (index made ready)."""
    ensure_index(actor, catalog, waiting)
    fields = readable_fields(actor, catalog)
    match = fulltext.match(actor.workspace.dialect, catalog.id, clauses, fields)
    return CatalogSearch(catalog, clauses, fields, match)


def filter_condition(
    actor: Actor, catalog: Catalog, text: Any, field: Field | None, table: Any, reader: bool
) -> Any:
    """The filter language's `search`: records of `table` (the catalog's table or an alias
    of it) matching the query in any field the reader reads (`field` None) or in `field`.

    `reader`: the actor's rights apply (a record list); without, every field counts.
    """
    key = "search" if field is None else field.api_name
    clauses = parse(text, key)
    ensure_index(actor, catalog)
    fields: list[int] | None
    if field is None:
        fields = readable_fields(actor, catalog) if reader else None
    else:
        if reader and field.ftype.storage == "links" and not _reads_link_titles(actor, field):
            raise SearchInvalid.of("search_link_titles_hidden", key)
        fields = [field.id]
    match = fulltext.match(actor.workspace.dialect, catalog.id, clauses, fields)
    return table.c.id.in_(sa.select(match.record_id).where(match.condition))


def fuzzy(conn: Connection, found: CatalogSearch) -> CatalogSearch | None:
    """The same search tolerating typos in its single words (None: nothing to try)."""
    if not any(len(c.tokens) == 1 and not c.prefix for c in found.clauses):
        return None
    catalog_id = found.catalog.id
    clauses = []
    for c in found.clauses:
        if len(c.tokens) == 1 and not c.prefix:
            near = fulltext.vocabulary_near(conn, catalog_id, c.tokens[0])
            c = fulltext.Clause(c.tokens, False, (c.tokens[0], *near))
        clauses.append(c)
    match = fulltext.match(conn.dialect.name, catalog_id, clauses, found.fields)
    return CatalogSearch(found.catalog, clauses, found.fields, match, fuzzy=True)


def _where(actor: Actor, catalog: Catalog) -> list[Any]:
    rights = access.record_filter(actor, catalog, "view")
    return [] if rights is None else [rights]


def _ranked(found: CatalogSearch, where: list[Any], offset: int, size: int) -> Any:
    table = found.catalog.table
    return (
        sa.select(table)
        .select_from(fulltext.index_join(found.match, table))
        .where(found.match.condition, *where)
        .order_by(found.match.rank, table.c.id)
        .offset(offset)
        .limit(size)
    )


def _newest(found: CatalogSearch, where: list[Any], offset: int, size: int) -> Any:
    table = found.catalog.table
    if found.match.record_id.name == "rowid":
        # SQLite: FTS5 walks its rowids backwards and each match probes the table, so the
        # page stops after `size` rows that pass the rule; `id IN (matches)` gathered
        # every match first (54 ms for a word in 40% of 200,000 records, 0.08 ms now).
        return (
            sa.select(table)
            .select_from(fulltext.index_join(found.match, table))
            .where(found.match.condition, *where)
            .order_by(found.match.record_id.desc())
            .offset(offset)
            .limit(size)
        )
    # PostgreSQL: a merge join walking both primary keys backwards.
    return (
        sa.select(table)
        .where(found.condition, *where)
        .order_by(table.c.id.desc())
        .offset(offset)
        .limit(size)
    )


def _page(
    conn: Connection,
    found: CatalogSearch,
    where: list[Any],
    offset: int,
    size: int,
    matches: int | None = None,
) -> Any:
    # Ranking costs a score per matching record: past RANK_LIMIT matches (a word in
    # most records) the newest come first instead, which reads just one page.
    if matches is None:
        matches = fulltext.matching(conn, found.match, RANK_LIMIT + 1)
    elif matches == 0:
        return []
    statement = _newest if matches > RANK_LIMIT else _ranked
    return conn.execute(statement(found, where, offset, size)).all()


def count(conn: Connection, found: CatalogSearch, where: list[Any], cap: int | None) -> int:
    """How many records match (stopping at `cap` when given)."""
    table = found.catalog.table
    inner = (
        sa.select(sa.literal(1))
        .select_from(fulltext.index_join(found.match, table))
        .where(found.match.condition, *where)
        .limit(cap)
        .subquery()
    )
    return int(conn.execute(sa.select(sa.func.count()).select_from(inner)).scalar_one())


def _offset(cursor: str | None) -> int:
    if not cursor:
        return 0
    values = query.decode_cursor(cursor, 2)
    if values[0] != "rank" or not isinstance(values[1], int) or values[1] < 0:
        raise SearchInvalid.of("search_cursor_invalid", "cursor")
    return values[1]


def ranked_page(
    conn: Connection,
    found: CatalogSearch,
    where: list[Any],
    size: int,
    cursor: str | None,
    matches: int | None = None,
) -> tuple[CatalogSearch, list[Any], str | None]:
    """Rows best match first (typo-tolerant when nothing matches exactly), and the next cursor.

    `matches`: the matching index rows counted up to RANK_LIMIT + 1 (`tally`), 0 when
    the reader may see none of them; None: counted here.
    """
    offset = _offset(cursor)
    rows = _page(conn, found, where, offset, size + 1, matches)
    if not rows and offset == 0:
        retry = fuzzy(conn, found)
        if retry is not None:
            found = retry
            rows = _page(conn, found, where, 0, size + 1)
    more = len(rows) > size
    next_cursor = query.encode_cursor(["rank", offset + size]) if more else None
    return found, list(rows[:size]), next_cursor


def list_page(
    actor: Actor,
    catalog: Catalog,
    found: CatalogSearch,
    where: list[Any],
    size: int,
    cursor: str | None,
    only: list[str] | None,
    with_count: bool,
) -> dict[str, Any]:
    """The records list ordered by relevance (`search` without `sort`)."""
    with read_connection(actor.workspace.engine) as conn:
        found, rows, next_cursor = ranked_page(conn, found, where, size, cursor)
        result: dict[str, Any] = {
            "items": Renderer(conn, actor, catalog, only).render(rows),
            "next_cursor": next_cursor,
        }
        if with_count:
            result["count"] = count(conn, found, where, None)
    return result


def _snippet(
    catalog: Catalog,
    record: dict[str, Any],
    found: CatalogSearch,
    comments: list[str],
    attached: list[tuple[str, str]] | None = None,
) -> str | None:
    allowed = None if found.fields is None else set(found.fields)
    texts = []
    for f in documents.searchable_fields(catalog):
        if (allowed is not None and f.id not in allowed) or f.api_name not in record["values"]:
            continue
        text = f.ftype.to_text(record["values"][f.api_name], f)
        if text:
            texts.append((f.api_name, text))
    texts += [("comments", text) for text in comments]
    texts += attached or []
    clauses = found.clauses
    if found.fuzzy:
        clauses = [
            fulltext.Clause((a,), False)
            for c in clauses
            for a in c.alternatives or _near_in_record(c.tokens, texts)
        ]
    piece = analyzer.snippet(texts, clauses)
    return piece.html if piece else None


def _attached(
    conn: Connection, catalog: Catalog, found: CatalogSearch, records: list[dict[str, Any]]
) -> dict[int, list[tuple[str, str]]]:
    """record id -> (file field api_name, text) of the attachments the reader may match."""
    allowed = None if found.fields is None else set(found.fields)
    fields = [f for f in documents.file_fields(catalog) if allowed is None or f.id in allowed]
    held = [
        (r["id"], f.api_name, int(v["id"]))
        for r in records
        for f in fields
        for v in r["values"].get(f.api_name) or []
    ]
    text = attachments.texts_of(conn, [i for _, _, i in held])
    out: dict[int, list[tuple[str, str]]] = {}
    for rid, name, file_id in held:
        if file_id in text:
            out.setdefault(rid, []).append((name, text[file_id]))
    return out


def _near_in_record(tokens: tuple[str, ...], texts: list[tuple[str, str]]) -> tuple[str, ...]:
    """The record's own stems close to a typo'd single token, so its snippet can mark them.

    PostgreSQL's trigram search matches without naming the words it found (SQLite's
    vocabulary lookup does), so the words are found again in the record's text.
    """
    if len(tokens) != 1:
        return tokens
    token = tokens[0]
    limit = 1 if len(token) <= 4 else 2
    own = {t for _, text in texts for t in analyzer.tokens(text)}
    near = [t for t in own if fulltext.edit_distance(token, t, limit) <= limit]
    return (token, *sorted(near))


def _visible_catalogs(actor: Actor, only: str | None) -> list[Catalog]:
    out = []
    for catalog in actor.workspace.meta().catalogs:
        if catalog.system is not None or not documents.indexed_fields(catalog):
            continue
        if only is not None and only not in (catalog.api_name, str(catalog.id)):
            continue
        try:
            access.require_catalog(actor, catalog)
        except Forbidden:
            continue
        out.append(catalog)
    return out


def _limit(limit: Any) -> int:
    if limit in (None, ""):
        return DEFAULT_LIMIT
    if isinstance(limit, bool) or not isinstance(limit, int | str) or not str(limit).isdecimal():
        raise SearchInvalid.of("search_limit_integer", "limit")
    value = int(limit)
    if not 1 <= value <= MAX_LIMIT:
        raise SearchInvalid.of("search_limit_range", "limit", max=MAX_LIMIT)
    return value


def _hits(conn: Connection, actor: Actor, found: CatalogSearch, rows: list[Any]) -> list[Any]:
    """A catalog's page as the workspace search gives it: catalog, record, snippet."""
    cat = found.catalog
    ref = {"id": cat.id, "api_name": cat.api_name, "name": cat.name}
    comments = documents.comments_of(conn, cat, [r.id for r in rows])
    rendered = Renderer(conn, actor, cat).render(rows)
    attached = _attached(conn, cat, found, rendered)
    return [
        {
            "catalog": ref,
            "record": record,
            "snippet": _snippet(
                cat, record, found, comments.get(record["id"], []), attached.get(record["id"], [])
            ),
        }
        for record in rendered
    ]


def _workspace_count(
    conn: Connection,
    found: CatalogSearch,
    where: list[Any],
    counted: tally.Tally,
    shown: int,
    more: bool,
) -> int:
    """A catalog's count in the workspace search (up to COUNT_CAP), mostly without a query.

    `shown`: the records up to the end of this page; `more`: whether any follow.
    """
    if not more:  # the page holds every remaining match
        return min(shown, COUNT_CAP)
    if found.fuzzy:  # the tally counted the words as typed, the page found near ones
        return count(conn, found, where, COUNT_CAP)
    return counted.count(COUNT_CAP)


def search_workspace(
    actor: Actor,
    text: Any,
    limit: Any = None,
    catalog: str | None = None,
    cursor: str | None = None,
) -> dict[str, Any]:
    """The best matches in every catalog the actor may see, grouped by catalog, with counts.

    Each catalog gives at most `limit` items; `catalog` (with `cursor`) pages through one.
    """
    clauses = parse(text, "q")
    size = _limit(limit)
    if cursor and catalog is None:
        raise SearchInvalid.of("search_cursor_needs_catalog", "catalog")
    catalogs = _visible_catalogs(actor, catalog)
    if catalog is not None and not catalogs:
        raise Forbidden.of("catalog_forbidden", catalog=catalog)
    items: list[dict[str, Any]] = []
    counts: dict[str, int] = {}
    next_cursor = None
    # One question for every catalog's waiting records, one connection for the pages.
    with read_connection(actor.workspace.engine) as conn:
        waiting = fulltext.pending_among(conn, [c.id for c in catalogs])
    prepared = [_catalog_search(actor, c, clauses, c.id in waiting) for c in catalogs]
    wheres = [_where(actor, c) for c in catalogs]
    questions = [
        tally.Question(f.match, f.catalog.table, sa.and_(*w) if w else None)
        for f, w in zip(prepared, wheres, strict=True)
    ]
    with read_connection(actor.workspace.engine) as conn:
        # One statement: every catalog's ranking decision, and counts where a rule applies.
        tallies = tally.tally(conn, questions, RANK_LIMIT + 1, COUNT_CAP)
        for found, where, counted in zip(prepared, wheres, tallies, strict=True):
            cat = found.catalog
            matches = 0 if counted.empty else counted.matching
            found, rows, next_cursor = ranked_page(conn, found, where, size, cursor, matches)
            if not rows:
                continue
            shown, more = _offset(cursor) + len(rows), next_cursor is not None
            counts[cat.api_name] = _workspace_count(conn, found, where, counted, shown, more)
            items += _hits(conn, actor, found, rows)
    result: dict[str, Any] = {"items": items, "counts": counts}
    if catalog is not None:
        result["next_cursor"] = next_cursor
    return result


class _Searcher:
    """The records list's full-text search (registered by the plugin list)."""

    prepare = staticmethod(prepare)
    filter_condition = staticmethod(filter_condition)
    check_query = staticmethod(analyzer.parse_query)
    list_page = staticmethod(list_page)


SEARCHER = _Searcher()
