"""Compiled record rules: cached per actor, never stale, and planned as per-row probes."""

from __future__ import annotations

import sqlalchemy as sa
from conftest_support import *  # noqa: F403

from kartoteka.access import service as access
from kartoteka.catalogs import service as catalogs
from kartoteka.records import service as records
from kartoteka.records.requests import BatchRequest
from kartoteka.rights import service as manage
from kartoteka.users import service as users

REGIONS = ["North", "South"]


def _world(admin) -> tuple[int, list[int]]:
    catalogs.create_catalog(
        admin,
        {
            "name": "Clients",
            "fields": [
                {"name": "Name", "type": "text"},
                {"name": "Region", "api_name": "region", "type": "select",
                 "options": {"choices": REGIONS}},
            ],
        },
    )  # fmt: skip
    catalogs.create_catalog(
        admin,
        {
            "name": "Deals",
            "fields": [
                {"name": "Name", "type": "text"},
                {"name": "Region", "api_name": "region", "type": "select",
                 "options": {"choices": REGIONS}},
                {"name": "Product", "api_name": "product", "type": "select",
                 "options": {"choices": ["OSAGO", "KASKO"]}},
                {"name": "Client", "api_name": "client", "type": "link",
                 "options": {"catalog": "clients"}},
            ],
        },
    )  # fmt: skip
    north, south = records.batch(
        admin,
        "clients",
        BatchRequest.creating([{"name": "n", "region": "North"}, {"name": "s", "region": "South"}]),
    ).created
    deals = records.batch(
        admin,
        "deals",
        BatchRequest.creating(
            [
                # 1: North region; 2: OSAGO; 3: South deal of a North client; 4: nothing
                {"name": name, "region": region, "product": product, "client": [c]}
                for name, region, product, c in [
                    ("d1", "North", "KASKO", south),
                    ("d2", "South", "OSAGO", south),
                    ("d3", "South", "KASKO", north),
                    ("d4", "South", "KASKO", south),
                ]
            ]
        ),
    ).created
    group = users.create_group(admin, {"name": "regional"})["id"]
    rule = {
        "or": [
            {"region": {"eq": "$user.region"}},
            {"product": {"eq": "OSAGO"}},
            {"client.region": {"eq": "$user.region"}},
        ]
    }
    manage.put_rights(admin, "deals", {"groups": {str(group): {"view": rule}}})
    return group, deals


def _seen(actor) -> list[str]:
    return sorted(r["values"]["name"] for r in records.list_records(actor, "deals")["items"])


def test_rule_with_or_and_hop_and_cache_follows_changes(ws, admin, make_user, as_user):
    group, deals = _world(admin)
    user = make_user("rita", groups=[group], profile={"region": "North"})
    rita = as_user(user)
    assert _seen(rita) == ["d1", "d2", "d3"]
    assert _seen(rita) == ["d1", "d2", "d3"]  # from the cached clause
    assert records.get_record(rita, "deals", deals[2])["values"]["name"] == "d3"
    # A profile change is a different cache key: the next request sees the new region.
    users.update_user(admin, user["id"], {"profile": {"region": "South"}})
    rita = as_user(user)
    assert _seen(rita) == ["d1", "d2", "d3", "d4"]  # d1's client is South
    # A rights change moves the meta version: the cached clause is not used any more.
    manage.put_rights(admin, "deals", {"groups": {str(group): {"view": {"product": "OSAGO"}}}})
    assert _seen(as_user(user)) == ["d2"]
    fetched = records.get_record(as_user(user), "deals", deals[1])
    assert fetched["values"]["name"] == "d2"
    for hidden in (deals[0], deals[2], deals[3]):
        try:
            records.get_record(as_user(user), "deals", hidden)
        except Exception as exc:  # noqa: BLE001 - the type is checked below
            assert type(exc).__name__ == "RecordNotFound"
        else:
            raise AssertionError(f"record {hidden} leaked")


def test_rule_hop_is_a_per_row_probe_on_postgresql(ws, admin, make_user, as_user):
    """PostgreSQL must not hash the whole links table for a one-hop rule under an OR."""
    group, _ = _world(admin)
    rita = as_user(make_user("rita", groups=[group], profile={"region": "North"}))
    deals = ws.meta().catalog("deals")
    rule = access.record_filter(rita, deals, "view")
    assert rule is not None
    q = sa.select(deals.table.c.id).where(rule).order_by(deals.table.c.id.desc()).limit(100)
    with ws.engine.connect() as conn:
        if conn.dialect.name != "postgresql":
            rows = conn.execute(q).scalars().all()
            assert len(rows) == 3
            return
        conn.exec_driver_sql("SET enable_seqscan = off")  # as if the tables were large
        sql = str(q.compile(conn, compile_kwargs={"literal_binds": True}))
        plan = "\n".join(r[0] for r in conn.exec_driver_sql("EXPLAIN " + sql))
    assert "SubPlan" in plan and "hashed SubPlan 1" not in plan, plan
    assert "OFFSET 0" in sql.upper().replace("\n", " ")


def test_a_grant_on_a_system_catalog_opens_nothing(ws, admin, make_user, as_user):
    """Even a rights row written behind the API's back does not open `webhooks`."""
    from kartoteka.catalogs import service as catalogs_service
    from kartoteka.storage import schema

    group = users.create_group(admin, {"name": "g"})["id"]
    rita = as_user(make_user("rita", groups=[group]))
    hooks = ws.meta().catalog("webhooks")
    assert hooks is not None and hooks.system is not None
    with ws.engine.begin() as conn:
        conn.execute(
            sa.insert(schema.catalog_rights).values(
                catalog_id=hooks.id, group_id=group, rights={"view": True, "manage": True}
            )
        )
        catalogs_service.bump_meta(conn)
    catalogs_service.invalidate(ws)
    assert ws.meta().rights[hooks.id][group]["view"] is True
    assert not access.can_see_catalog(rita, ws.meta().catalog("webhooks"))
    assert not access.can_manage(rita, ws.meta().catalog("webhooks"))
    assert not access.can_manage(admin, ws.meta().catalog("webhooks"))
    assert "webhooks" not in {c.api_name for c in catalogs.list_catalogs(rita)}


def test_a_granted_reader_costs_no_shares_lookup(ws, admin, make_user, as_user, monkeypatch):
    """require_catalog looks for shares only when the groups grant nothing."""
    group, deals = _world(admin)
    rita = as_user(make_user("rita", groups=[group], profile={"region": "North"}))
    calls: list[int] = []
    real = access._has_shares
    monkeypatch.setattr(access, "_has_shares", lambda a, c: calls.append(1) or real(a, c))
    records.get_record(rita, "deals", deals[0])
    records.list_records(rita, "deals")
    assert calls == []
