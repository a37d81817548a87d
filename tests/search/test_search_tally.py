"""The workspace search's counts and ranking decisions, tallied in one statement."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from conftest_support import *  # noqa: F403

from kartoteka.catalogs import service as catalogs
from kartoteka.records import service as records
from kartoteka.records.requests import BatchRequest
from kartoteka.rights import service as manage
from kartoteka.search import service as search
from kartoteka.storage import fulltext
from kartoteka.users import service as users


def _docs(admin, name: str, rows: list[dict]) -> str:
    """A catalog of `rows` (name, secret, region); its api_name."""
    spec = {
        "name": name,
        "fields": [
            {"name": "Name", "type": "text"},
            {"name": "Secret", "api_name": "secret", "type": "text"},
            {"name": "Region", "api_name": "region", "type": "select",
             "options": {"choices": ["North", "South"]}},
        ],
    }  # fmt: skip
    api_name = catalogs.create_catalog(admin, spec).api_name
    records.batch(admin, api_name, BatchRequest.creating(rows))
    return api_name


def _rows(n: int) -> list[dict]:
    """Two in three name a contract, every other one is in the North; the rest are bills."""
    return [
        {
            "name": f"договор {i}" if i % 3 else f"счёт {i}",
            "secret": "тайна" if i % 4 == 0 else "",
            "region": "North" if i % 2 == 0 else "South",
        }
        for i in range(n)
    ]


def _reader(admin, make_user, as_user, catalogs_: list[str], doc: dict):
    group = users.create_group(admin, {"name": "readers"})["id"]
    for name in catalogs_:
        manage.put_rights(admin, name, {"groups": {str(group): doc}})
    return as_user(make_user("reader", groups=[group]))


def _paged(actor, text: str, catalog: str, limit: int) -> list[int]:
    """Every record id the actor finds in one catalog, page after page."""
    ids: list[int] = []
    page = search.search_workspace(actor, text, limit=limit, catalog=catalog)
    while True:
        ids += [item["record"]["id"] for item in page["items"]]
        if not page["next_cursor"]:
            return ids
        page = search.search_workspace(
            actor, text, limit=limit, catalog=catalog, cursor=page["next_cursor"]
        )


def test_counts_stop_at_the_cap(admin, make_user, as_user) -> None:
    docs = _docs(admin, "Docs", _rows(330))  # 220 contracts, 110 of them in the North
    assert search.COUNT_CAP == 100
    assert search.search_workspace(admin, "договор", limit=5)["counts"] == {docs: 100}
    north = _reader(admin, make_user, as_user, [docs], {"view": {"region": {"eq": "North"}}})
    assert search.search_workspace(north, "договор", limit=5)["counts"] == {docs: 100}
    # Below the cap a count is exact: 55 of the bills (every third record) are hers.
    assert search.search_workspace(north, "счёт", limit=5)["counts"] == {docs: 55}


@pytest.mark.parametrize(
    ("rank_limit", "cap", "probe"),
    [
        (search.RANK_LIMIT, search.COUNT_CAP, fulltext.PROBE),
        # Few ranked, a small cap and a one-row probe: the newest rows decide some
        # catalogs, the index the others; broad catalogs are listed newest first.
        (3, 7, 1),
    ],
)
def test_a_restricted_readers_counts_are_what_they_page_through(
    admin, make_user, as_user, monkeypatch, rank_limit, cap, probe
) -> None:
    monkeypatch.setattr(search, "RANK_LIMIT", rank_limit)
    monkeypatch.setattr(search, "COUNT_CAP", cap)
    monkeypatch.setattr(fulltext, "PROBE", probe)
    names = [_docs(admin, f"Docs {n}", _rows(n)) for n in (4, 12, 30)]
    north = _reader(admin, make_user, as_user, names, {"view": {"region": {"eq": "North"}}})
    for actor in (admin, north):
        for text in ("договор", "счёт", "договор 1*"):
            counts = search.search_workspace(actor, text, limit=2)["counts"]
            paged = {name: len(_paged(actor, text, name, 2)) for name in names}
            assert counts == {n: min(found, cap) for n, found in paged.items() if found}


def test_counts_leave_out_matches_in_hidden_fields(admin, make_user, as_user) -> None:
    docs = _docs(admin, "Docs", _rows(24))
    for text in ("тайна", "тайна", "договор"):
        records.create_record(admin, docs, {"name": text, "secret": "тайна", "region": "South"})
    admin_counts = search.search_workspace(admin, "тайна", limit=1)["counts"]
    assert admin_counts == {docs: 9}  # six secrets of _rows, the three records just made
    everyone = {"view": True, "fields": {"secret": "hidden"}}
    reader = _reader(admin, make_user, as_user, [docs], everyone)
    # Only the two records named "тайна" match in a field she reads.
    assert search.search_workspace(reader, "тайна", limit=1)["counts"] == {docs: 2}
    assert len(_paged(reader, "тайна", docs, 1)) == 2
    found = search.search_workspace(reader, "договор", limit=1)
    assert found["counts"] == {docs: 17} and len(found["items"]) == 1
    assert len(_paged(reader, "договор", docs, 5)) == 17


def test_the_workspace_is_tallied_in_one_statement(admin, make_user, as_user) -> None:
    names = [_docs(admin, f"Docs {n}", _rows(30)) for n in range(4)]
    north = _reader(admin, make_user, as_user, names, {"view": {"region": {"eq": "North"}}})
    engine = admin.workspace.engine
    for actor in (admin, north):
        search.search_workspace(actor, "договор", limit=2)  # indexes built, rules compiled
        statements: list[str] = []

        def note(conn, cursor, statement, *args, seen=statements) -> None:
            seen.append(statement)

        sa.event.listen(engine, "before_cursor_execute", note)
        try:
            found = search.search_workspace(actor, "договор", limit=2)
        finally:
            sa.event.remove(engine, "before_cursor_execute", note)
        assert len(found["counts"]) == len(names)
        # The decisions and counts of the four catalogs: one statement (it was two or
        # three per catalog); besides it, each catalog reads its page and what it shows.
        counting = [s for s in statements if "count(" in s.lower()]
        assert len(counting) == 1
        tables = [admin.workspace.meta().catalog(name).table.name for name in names]
        pages = [s for s in statements if s.startswith(tuple(f"SELECT {t}.id," for t in tables))]
        assert len(pages) == len(names)
        # Besides: the question for waiting records, each page's comments, SQLite's BEGINs.
        assert len(statements) <= 4 + 2 * len(names)
