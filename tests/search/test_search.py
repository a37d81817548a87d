"""Full-text search in a catalog and across the workspace, on both databases."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa
from conftest_support import *  # noqa: F403
from support.catalogs import deals_linking_clients

from kartoteka.catalogs import service as catalogs
from kartoteka.errors import ValidationFailed
from kartoteka.records import service as records
from kartoteka.records.requests import BatchRequest
from kartoteka.rights import service as manage
from kartoteka.search import documents, index
from kartoteka.search import service as search
from kartoteka.storage import fulltext
from kartoteka.users import service as users

CLIENTS = [
    {"name": "ООО Ромашка", "note": "Договоры поставки цветов", "region": "North"},
    {"name": "ЗАО Василёк", "note": "договор аренды склада", "region": "South"},
    {"name": "Acme Corporation", "note": "Running contracts for flowers", "region": "North"},
    {"name": "Ёлочка", "note": "Секретный контракт", "secret": "тайна ромашка", "region": "South"},
]


@pytest.fixture
def world(admin) -> dict[str, int]:
    catalogs.create_catalog(
        admin,
        {
            "name": "Clients",
            "fields": [
                {"name": "Name", "type": "text"},
                {"name": "Note", "api_name": "note", "type": "long_text"},
                {"name": "Secret", "api_name": "secret", "type": "text"},
                {"name": "Region", "api_name": "region", "type": "select",
                 "options": {"choices": ["North", "South"]}},
                {"name": "Phone", "api_name": "phone", "type": "phone"},
            ],
        },
    )  # fmt: skip
    created = records.batch(admin, "clients", BatchRequest.creating(CLIENTS))
    return dict(zip([c["name"] for c in CLIENTS], created.created, strict=True))


def _found(actor, text: str, **kw) -> list[str]:
    items = records.list_records(actor, "clients", search=text, **kw)["items"]
    return [r["values"]["name"] for r in items]


def test_morphology_case_and_yo(admin, world) -> None:
    assert _found(admin, "договор") == ["ООО Ромашка", "ЗАО Василёк"]
    assert _found(admin, "ДОГОВОРЫ") == ["ООО Ромашка", "ЗАО Василёк"]
    assert _found(admin, "ромашки") == ["ООО Ромашка", "Ёлочка"]
    assert _found(admin, "василек") == ["ЗАО Василёк"]
    assert _found(admin, "елочка") == ["Ёлочка"]
    assert _found(admin, "contract") == ["Acme Corporation"]
    assert _found(admin, "run flower") == ["Acme Corporation"]
    assert _found(admin, "south") == ["ЗАО Василёк", "Ёлочка"]  # select labels


def test_prefix_and_phrase(admin, world) -> None:
    assert _found(admin, "Ромаш*") == ["ООО Ромашка", "Ёлочка"]
    assert _found(admin, "Ромашка*") == ["ООО Ромашка", "Ёлочка"]
    assert _found(admin, '"договоры поставки"') == ["ООО Ромашка"]
    assert _found(admin, '"поставки договоры"') == []
    assert _found(admin, "договор склада") == ["ЗАО Василёк"]


def test_typos_are_tolerated_when_nothing_matches(admin, world) -> None:
    assert _found(admin, "Ромшка") == ["ООО Ромашка", "Ёлочка"]
    assert _found(admin, "Васелек") == ["ЗАО Василёк"]
    assert _found(admin, "qwertyuiop") == []


def test_index_follows_every_write(admin, world) -> None:
    rid = world["Acme Corporation"]
    records.update_record(admin, "clients", rid, {"name": "Кактус и партнёры"})
    assert _found(admin, "кактусы") == ["Кактус и партнёры"]
    assert _found(admin, "acme") == []
    records.delete_record(admin, "clients", rid)
    assert _found(admin, "кактус") == []
    new = records.create_record(admin, "clients", {"name": "Новый", "phone": "+7 916 123-45-67"})
    assert _found(admin, "9161234567") == ["Новый"]
    assert new["values"]["name"] == "Новый"


def test_filter_sort_cursor_and_count(admin, world) -> None:
    page = records.list_records(admin, "clients", search="договор", limit=1, count=True)
    assert page["count"] == 2 and len(page["items"]) == 1 and page["next_cursor"]
    rest = records.list_records(admin, "clients", search="договор", cursor=page["next_cursor"])
    assert [r["values"]["name"] for r in rest["items"]] == ["ЗАО Василёк"]
    south = _found(admin, "договор", filter={"region": {"eq": "South"}})
    assert south == ["ЗАО Василёк"]
    assert _found(admin, "договор", sort="-id") == ["ЗАО Василёк", "ООО Ромашка"]
    with pytest.raises(ValidationFailed) as err:
        records.list_records(admin, "clients", search="  ,, ")
    assert "search" in err.value.fields


def test_links_index_the_titles_of_linked_records(admin, world) -> None:
    deals_linking_clients(admin)
    records.create_record(admin, "deals", {"name": "Сделка 1", "client": [world["ООО Ромашка"]]})
    names = [
        r["values"]["name"] for r in records.list_records(admin, "deals", search="ромашка")["items"]
    ]
    assert names == ["Сделка 1"]
    # Renaming the client reindexes the deal that shows its title.
    records.update_record(admin, "clients", world["ООО Ромашка"], {"name": "ООО Лютик"})
    assert records.list_records(admin, "deals", search="ромашка")["items"] == []
    assert len(records.list_records(admin, "deals", search="лютик")["items"]) == 1


def _restricted(admin, make_user, as_user, fields: dict[str, str]):
    group = users.create_group(admin, {"name": "north"})["id"]
    doc = {"view": {"region": {"eq": "North"}}, "fields": fields}
    manage.put_rights(admin, "clients", {"groups": {str(group): doc}})
    return as_user(make_user("nina", groups=[group]))


def test_rights_and_hidden_fields(admin, world, make_user, as_user) -> None:
    nina = _restricted(admin, make_user, as_user, {"secret": "hidden"})
    assert _found(nina, "договор") == ["ООО Ромашка"]  # the South one is not hers
    assert _found(admin, "тайна") == ["Ёлочка"]
    assert _found(nina, "тайна") == []
    # A record she sees, matched only through a hidden field, is not found either.
    records.update_record(admin, "clients", world["Acme Corporation"], {"secret": "тайна"})
    assert sorted(_found(admin, "тайна")) == ["Acme Corporation", "Ёлочка"]
    assert _found(nina, "тайна") == []
    assert _found(nina, "тайна*") == []
    assert _found(nina, "тйна") == []  # nor through typo tolerance
    everywhere = search.search_workspace(nina, "тайна")
    assert everywhere == {"items": [], "counts": {}}


def test_masked_fields_are_never_matched(admin, world, make_user, as_user) -> None:
    nina = _restricted(admin, make_user, as_user, {"note": "masked"})
    assert _found(nina, "поставки") == []
    assert _found(nina, "ромашка") == ["ООО Ромашка"]


def test_workspace_search_groups_counts_and_snippets(admin, world) -> None:
    catalogs.create_catalog(admin, {"name": "Notes", "fields": [{"name": "Text", "type": "text"}]})
    records.create_record(admin, "notes", {"text": "Позвонить в Ромашку <завтра>"})
    found = search.search_workspace(admin, "ромашка")
    assert found["counts"] == {"clients": 2, "notes": 1}
    first = found["items"][0]
    assert first["catalog"]["api_name"] == "clients"
    assert first["record"]["values"]["name"] == "ООО Ромашка"
    assert first["snippet"] == "ООО <mark>Ромашка</mark>"
    note = [i for i in found["items"] if i["catalog"]["api_name"] == "notes"][0]
    assert note["snippet"] == "Позвонить в <mark>Ромашку</mark> &lt;завтра&gt;"
    page = search.search_workspace(admin, "ромашка", limit=1, catalog="clients")
    assert len(page["items"]) == 1 and page["next_cursor"]
    more = search.search_workspace(
        admin, "ромашка", limit=1, catalog="clients", cursor=page["next_cursor"]
    )
    assert [i["record"]["values"]["name"] for i in more["items"]] == ["Ёлочка"]
    assert more["next_cursor"] is None


def test_workspace_search_limit_errors_are_coded(admin, world) -> None:
    for limit, code, russian in [
        ("a", "search_limit_integer", "целым"),
        (101, "search_limit_range", "до 100"),
    ]:
        with pytest.raises(ValidationFailed) as refused:
            search.search_workspace(admin, "ромашка", limit=limit)
        first = refused.value.first
        assert first is not None and (first.code, first.field) == (code, "limit")
        assert russian in refused.value.fields_in("ru")["limit"]


def test_link_titles_match_only_for_readers_who_see_them(admin, world, make_user, as_user):
    deals_linking_clients(admin)
    records.create_record(admin, "deals", {"name": "Сделка", "client": [world["ООО Ромашка"]]})
    group = users.create_group(admin, {"name": "sales"})["id"]
    manage.put_rights(admin, "deals", {"groups": {str(group): {"view": True}}})
    manage.put_rights(
        admin, "clients", {"groups": {str(group): {"view": {"region": {"eq": "South"}}}}}
    )
    sam = as_user(make_user("sam", groups=[group]))
    shown = records.list_records(sam, "deals")["items"][0]["values"]["client"]
    assert shown[0]["title"] != "ООО Ромашка"  # the client is not his to see
    assert records.list_records(sam, "deals", search="ромашка")["items"] == []
    assert len(records.list_records(sam, "deals", search="сделка")["items"]) == 1
    manage.put_rights(admin, "clients", {"groups": {str(group): {"view": True}}})
    sam = as_user(make_user("sam2", groups=[group]))
    assert len(records.list_records(sam, "deals", search="ромашка")["items"]) == 1


def test_comments_are_searched_with_their_record(admin, world, make_user, as_user) -> None:
    from kartoteka.comments import service as comments

    rid = world["Acme Corporation"]
    comments.add_comment(admin, "clients", rid, {"text": "Клиент просит скидку на тюльпаны"})
    assert _found(admin, "тюльпан") == ["Acme Corporation"]
    found = search.search_workspace(admin, "скидки")
    assert found["items"][0]["snippet"] == "Клиент просит <mark>скидку</mark> на тюльпаны"
    # Readers with a hidden field still find comments of records they see; others do not.
    nina = _restricted(admin, make_user, as_user, {"secret": "hidden"})
    assert _found(nina, "тюльпан") == ["Acme Corporation"]
    comments.add_comment(admin, "clients", world["ЗАО Василёк"], {"text": "тюльпаны"})
    assert sorted(_found(admin, "тюльпан")) == ["Acme Corporation", "ЗАО Василёк"]
    assert _found(nina, "тюльпан") == ["Acme Corporation"]  # Василёк is in the South


def test_broad_searches_list_the_newest_first(admin, world, monkeypatch) -> None:
    monkeypatch.setattr(search, "RANK_LIMIT", 1)
    assert _found(admin, "договор") == ["ЗАО Василёк", "ООО Ромашка"]
    page = records.list_records(admin, "clients", search="договор", limit=1)
    rest = records.list_records(admin, "clients", search="договор", cursor=page["next_cursor"])
    assert [r["values"]["name"] for r in rest["items"]] == ["ООО Ромашка"]


def test_big_batches_wait_for_the_index_yet_searches_find_them(admin, world) -> None:
    from kartoteka.search import index
    from kartoteka.storage import fulltext

    many = [{"name": f"Фирма {i}", "note": "договор хранения"} for i in range(index.DEFER_AT)]
    records.batch(admin, "clients", BatchRequest.creating(many))
    assert index.has_pending(admin.workspace)  # queued in the write, not indexed there
    found = records.list_records(admin, "clients", search="хранения", count=True)
    assert found["count"] == index.DEFER_AT  # the search indexed what waited first
    assert not index.has_pending(admin.workspace)
    with admin.workspace.engine.connect() as conn:
        assert fulltext.read_signature(conn, admin.workspace.meta().catalog("clients").id)
    # The workspace search asks once which catalogs wait, and indexes those first.
    more = [{"name": f"Склад {i}", "note": "договор аренды"} for i in range(index.DEFER_AT)]
    records.batch(admin, "clients", BatchRequest.creating(more))
    with admin.workspace.engine.connect() as conn:
        clients = admin.workspace.meta().catalog("clients").id
        assert fulltext.pending_among(conn, [clients, clients + 1]) == {clients}
    found = search.search_workspace(admin, "склад аренды", limit=5)
    # DEFER_AT + 1 match (with ЗАО Василёк's "договор аренды склада"): "at least" the cap.
    assert search.COUNT_CAP <= index.DEFER_AT + 1
    assert found["counts"] == {"clients": search.COUNT_CAP} and len(found["items"]) == 5
    with admin.workspace.engine.connect() as conn:
        assert fulltext.pending_among(conn, [clients]) == set()


def test_updates_of_unindexed_fields_leave_the_index_alone(admin, world, monkeypatch) -> None:
    from kartoteka.search import index

    catalogs.add_field(admin, "clients", {"name": "Amount", "type": "number"})
    calls: list[list[int]] = []
    real = index.reindex
    monkeypatch.setattr(index, "reindex", lambda c, m, cat, ids, new=False: calls.append(ids))
    records.update_record(admin, "clients", world["Acme Corporation"], {"amount": 5})
    assert calls == []
    records.update_record(admin, "clients", world["Acme Corporation"], {"note": "поставка"})
    assert calls == [[world["Acme Corporation"]]]
    monkeypatch.setattr(index, "reindex", real)


def _index_rows(admin, catalog: str) -> list[tuple]:
    ws = admin.workspace
    table = fulltext.index_table(ws.meta().catalog(catalog).id)
    rid = fulltext.record_id_column(ws.dialect, table)
    with ws.engine.connect() as conn:
        rows = conn.execute(sa.select(rid, table.c.body, table.c.parts).order_by(rid)).all()
    return [(r[0], r[1], json.loads(r[2])) for r in rows]


def test_a_rebuild_makes_the_index_the_writes_made(admin, world) -> None:
    from kartoteka.comments import service as comments

    deals_linking_clients(admin)
    clients = list(world.values())
    for n in range(12):
        records.create_record(
            admin,
            "deals",
            {"name": f"Сделка {n} договоры", "client": [clients[n % 3]]},
        )
    comments.add_comment(admin, "clients", clients[0], {"text": "Просит скидку"})
    comments.add_comment(admin, "clients", clients[0], {"text": "И ещё одну"})
    records.update_record(admin, "clients", clients[1], {"note": "", "region": "North"})
    before = {name: _index_rows(admin, name) for name in ("clients", "deals")}
    assert len(before["deals"]) == 12 and before["clients"][0][2]["0"]  # comments held
    assert index.rebuild(admin.workspace) == {"clients": 4, "deals": 12}
    assert {name: _index_rows(admin, name) for name in ("clients", "deals")} == before
    ws = admin.workspace
    for name in ("clients", "deals"):
        table = fulltext.index_name(ws.meta().catalog(name).id)
        with ws.engine.connect() as conn:
            words = {r[0] for r in conn.exec_driver_sql(f"SELECT word FROM {table}_words")}
            if ws.dialect == "postgresql":  # the GIN index made before the fill is there
                assert conn.exec_driver_sql(f"SELECT to_regclass('{table}_tsv')").scalar()
        assert words == {w for row in before[name] for w in row[1].split()}


def test_the_ranking_decision_counts_the_same_from_the_newest_rows_or_the_index(
    admin, world
) -> None:
    from kartoteka.search import analyzer

    old = [{"name": f"Архив {i}"} for i in range(3)]
    new = [{"name": f"Новая сделка {i}"} for i in range(16)]
    for rows in (old, new):
        records.batch(admin, "clients", BatchRequest.creating(rows))
    records.list_records(admin, "clients", search="архив")  # the index is ready
    catalog_id = admin.workspace.meta().catalog("clients").id

    def matching(text: str, cap: int, fields: list[int] | None = None) -> int:
        clauses = analyzer.parse_query(text)
        found = fulltext.match(admin.workspace.dialect, catalog_id, clauses, fields)
        with admin.workspace.engine.connect() as conn:
            return fulltext.matching(conn, found, cap)

    # PostgreSQL looks at the newest 5 x cap rows first: "сделка" is decided there, the
    # old "архив" records lie beyond them and are counted by the index.
    assert matching("сделка", 3) == 3
    assert matching("архив", 3) == 3 and matching("архив", 10) == 3
    assert matching("архив", 3, [documents.COMMENTS]) == 0  # a reader without the name field
    assert matching("договор", 10) == 2


def test_a_prefix_finds_stems_written_after_the_index_was_built(admin, world, monkeypatch) -> None:
    assert _found(admin, "Ромаш*") == ["ООО Ромашка", "Ёлочка"]  # the index is built
    records.create_record(admin, "clients", {"name": "Ромашковый чай", "region": "North"})
    expected = ["ООО Ромашка", "Ёлочка", "Ромашковый чай"]
    assert sorted(_found(admin, "Ромаш*")) == sorted(expected)
    assert _found(admin, "договор ромаш*") == ["ООО Ромашка"]  # with another clause
    assert _found(admin, "Ромаш* цвет*") == ["ООО Ромашка"]
    # A prefix standing for more stems than are listed stays an FTS5 prefix query.
    monkeypatch.setattr(fulltext, "PREFIX_STEMS", 1)
    assert sorted(_found(admin, "Ромаш*")) == sorted(expected)
    monkeypatch.setattr(search, "RANK_LIMIT", 1)  # newest first, from the index side
    assert _found(admin, "Ромаш*") == ["Ромашковый чай", "Ёлочка", "ООО Ромашка"]


def test_sqlite_lists_broad_matches_from_the_index_newest_first(
    admin, world, make_user, as_user
) -> None:
    if admin.workspace.dialect != "sqlite":
        pytest.skip("SQLite's FTS5 plan")
    nina = _restricted(admin, make_user, as_user, {"secret": "hidden"})
    catalog = admin.workspace.meta().catalog("clients")
    found = search.prepare(nina, catalog, "Ромаш*")
    statement = search._newest(found, search._where(nina, catalog), 0, 21)
    with admin.workspace.engine.connect() as conn:
        sql = str(statement.compile(conn, compile_kwargs={"literal_binds": True}))
        plan = [r[3] for r in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}")]
        rows = conn.execute(statement).all()
    # The FTS5 table drives the join in rowid order: no list of every match, no sort.
    assert plan[0].startswith(f"SCAN {fulltext.index_name(catalog.id)} VIRTUAL TABLE")
    name = fulltext.index_name(catalog.id)
    assert [step for step in plan if f" {name} " in step] == [plan[0]]
    assert not any("TEMP B-TREE" in step for step in plan)
    assert [r.id for r in rows] == [world["ООО Ромашка"]]  # her rule and hidden field hold


def test_queued_records_are_noted_once(admin, world) -> None:
    catalog_id = admin.workspace.meta().catalog("clients").id
    with admin.workspace.engine.begin() as conn:
        fulltext.queue_pending(conn, catalog_id, [world["ЗАО Василёк"], world["ООО Ромашка"]] * 2)
        fulltext.queue_pending(conn, catalog_id, [world["ООО Ромашка"]])
        fulltext.queue_pending(conn, catalog_id, [])
        waiting = fulltext.take_pending(conn, catalog_id, 10)
    assert waiting == sorted([world["ЗАО Василёк"], world["ООО Ромашка"]])
