"""Duplicate rules: normalisation, the 409 on writes (visible matches only), the skip flag,
the scan's groups and merging records (links, comments, files, shares, history, event)."""

from __future__ import annotations

import base64

import pytest
import sqlalchemy as sa

from kartoteka.duplicates.normalise import canonical, key_of, normalise
from kartoteka.storage import schema

CLIENT_FIELDS = [
    {"name": "Name", "api_name": "name", "type": "text"},
    {"name": "Phone", "api_name": "phone", "type": "phone"},
    {"name": "E-mail", "api_name": "email", "type": "email"},
    {"name": "INN", "api_name": "inn", "type": "text"},
    {"name": "Manager", "api_name": "manager", "type": "text"},
]


def _clients(api, rules=(["phone"],)):
    api.catalog("Clients", CLIENT_FIELDS)
    made = []
    for fields in rules:
        r = api.post("/catalogs/clients/duplicate-rules", {"fields": fields})
        assert r.status_code == 201, r.text
        made.append(r.json())
    return made


def test_normalisation_of_each_kind():
    assert normalise("phone", "8 (916) 123-45-67") == "+79161234567"
    assert normalise("phone", "+7 916 123 45 67") == "+79161234567"
    assert normalise("email", " Ivan.Petrov@Mail.RU ") == "ivan.petrov@mail.ru"
    assert normalise("name", "  Пётр   ИВАНОВ ") == "петр иванов"
    assert normalise("digits", "ИНН 7707-083893") == "7707083893"
    assert normalise("exact", "  A  ") == "A"
    assert normalise("digits", "нет") is None
    # a stored Decimal and the history's number give the same text
    from decimal import Decimal

    assert canonical(Decimal("10.50")) == canonical(10.5) == "10.5"
    assert key_of(["a", None]) is None
    long = key_of(["x" * 300])
    assert long is not None and long.startswith("sha256:") and len(long) < 100


def test_rules_crud_managers_only_and_precise_errors(api):
    (rule,) = _clients(api)
    assert rule["fields"] == [{"field": "phone", "normalise": "phone"}]
    assert rule["name"] == "Phone" and rule["valid"] is True
    r = api.post(
        "/catalogs/clients/duplicate-rules",
        {"name": "Name and INN", "fields": ["name", {"field": "inn", "normalise": "digits"}]},
    )
    assert r.status_code == 201, r.text
    both = r.json()
    assert [f["normalise"] for f in both["fields"]] == ["name", "digits"]
    listed = api.get("/catalogs/clients/duplicate-rules").json()["items"]
    assert [x["id"] for x in listed] == [rule["id"], both["id"]]
    bad = api.post("/catalogs/clients/duplicate-rules", {"fields": ["nope"]})
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "fields[0]"
    bad = api.post(
        "/catalogs/clients/duplicate-rules", {"fields": [{"field": "inn", "normalise": "x"}]}
    )
    assert bad.status_code == 422 and "normalise" in bad.json()["message"]
    assert api.post("/catalogs/clients/duplicate-rules", {"fields": []}).status_code == 422
    assert api.post("/catalogs/clients/duplicate-rules", [1]).status_code == 422
    r = api.patch(f"/catalogs/clients/duplicate-rules/{both['id']}", {"name": "Name+INN"})
    assert r.status_code == 200 and r.json()["name"] == "Name+INN"
    assert r.json()["fields"] == both["fields"]
    assert api.get("/catalogs/clients/duplicate-rules/999").status_code == 404
    # an ordinary user sees the rules but may not change them
    api.post("/users", {"email": "u@example.com", "name": "U", "password": "long-password-1"})
    group = api.post("/groups", {"name": "sales"}).json()["id"]
    api.put("/catalogs/clients/rights", {"groups": {str(group): {"view": True}}})
    uid = [u for u in api.get("/users").json()["items"] if u["email"] == "u@example.com"][0]
    api.patch(f"/users/{uid['id']}", {"groups": [group]})
    user = {"Authorization": "Basic " + base64.b64encode(b"u@example.com:long-password-1").decode()}
    assert api.get("/catalogs/clients/duplicate-rules", headers=user).status_code == 200
    r = api.post("/catalogs/clients/duplicate-rules", {"fields": ["inn"]}, headers=user)
    assert r.status_code == 403
    assert api.delete(f"/catalogs/clients/duplicate-rules/{both['id']}").status_code == 204
    assert len(api.get("/catalogs/clients/duplicate-rules").json()["items"]) == 1


def test_create_and_update_answer_409_unless_skipped(api):
    _clients(api, (["phone"], [{"field": "email"}]))
    first = api.record("clients", {"name": "Иван", "phone": "+7 916 123-45-67"})
    r = api.post("/catalogs/clients/records", {"values": {"name": "Ваня", "phone": "89161234567"}})
    assert r.status_code == 409, r.text
    body = r.json()
    assert body["error"] == "DUPLICATE"
    assert body["duplicates"][0]["matches"] == [{"id": first["id"], "title": "Иван"}]
    assert body["duplicates"][0]["rule"]["name"] == "Phone"
    assert f"#{first['id']} Иван" in body["message"]
    ru = api.post(
        "/catalogs/clients/records",
        {"values": {"phone": "89161234567"}},
        headers={"Accept-Language": "ru"},
    )
    assert ru.status_code == 409
    # skipping writes it anyway
    r = api.post(
        "/catalogs/clients/records?skip_duplicates=true",
        {"values": {"name": "Ваня", "phone": "89161234567"}},
    )
    assert r.status_code == 201, r.text
    second = r.json()["id"]
    # an update to another record's e-mail (case differs) is refused; unrelated edits pass
    third = api.record("clients", {"name": "Пётр", "email": "petr@example.com"})
    r = api.patch(f"/catalogs/clients/records/{third['id']}", {"values": {"name": "Петя"}})
    assert r.status_code == 200
    api.patch(f"/catalogs/clients/records/{first['id']}", {"values": {"email": "x@example.com"}})
    r = api.patch(
        f"/catalogs/clients/records/{third['id']}", {"values": {"email": "X@Example.com"}}
    )
    assert r.status_code == 409 and r.json()["duplicates"][0]["matches"][0]["id"] == first["id"]
    # an existing duplicate may still be edited when its key does not change
    r = api.patch(f"/catalogs/clients/records/{second}", {"values": {"phone": "+79161234567"}})
    assert r.status_code == 200, r.text
    # batches report per item; a repeat inside the batch too
    r = api.post(
        "/catalogs/clients/records/batch",
        {"create": [
            {"values": {"name": "ok", "phone": "+74951112233"}},
            {"values": {"name": "dup", "phone": "8 916 123 45 67"}},
            {"values": {"name": "again", "phone": "+7 495 111-22-33"}},
        ]},
    )  # fmt: skip
    assert r.status_code == 409
    found = {(d["where"], d["index"]) for d in r.json()["duplicates"]}
    assert found == {("create", 1), ("create", 2)}
    again = [d for d in r.json()["duplicates"] if d["index"] == 2][0]
    assert again["repeats"] == "create[0]" and again["matches"] == []
    assert api.get("/catalogs/clients/records?count=true").json()["count"] == 3
    r = api.post(
        "/catalogs/clients/records/batch?skip_duplicates=true",
        {"create": [{"values": {"phone": "8 916 123 45 67"}}]},
    )
    assert r.status_code == 200
    # deleting a record frees its key
    api.delete(f"/catalogs/clients/records/{third['id']}")
    r = api.post("/catalogs/clients/records", {"values": {"email": "X@example.com"}})
    assert r.status_code == 409  # first still holds x@example.com
    r = api.post("/catalogs/clients/records", {"values": {"email": "petr@example.com"}})
    assert r.status_code == 201


def _restricted_user(api):
    """A user who sees and creates only clients whose manager is "u"."""
    api.post("/users", {"email": "u@example.com", "name": "U", "password": "long-password-1"})
    group = api.post("/groups", {"name": "sales"}).json()["id"]
    rule = {"manager": {"eq": "u"}}
    rights = {"view": rule, "create": True, "edit": rule, "delete": rule}
    assert api.put("/catalogs/clients/rights", {"groups": {str(group): rights}}).status_code == 200
    uid = [u for u in api.get("/users").json()["items"] if u["email"] == "u@example.com"][0]
    api.patch(f"/users/{uid['id']}", {"groups": [group]})
    return {"Authorization": "Basic " + base64.b64encode(b"u@example.com:long-password-1").decode()}


def test_409_names_only_records_the_user_may_see(api):
    _clients(api)
    hidden = api.record("clients", {"name": "Secret", "phone": "+79160000001", "manager": "boss"})
    user = _restricted_user(api)
    mine = api.post(
        "/catalogs/clients/records",
        {"values": {"name": "Mine", "phone": "+79160000002", "manager": "u"}},
        headers=user,
    )
    assert mine.status_code == 201, mine.text
    r = api.post(
        "/catalogs/clients/records",
        {"values": {"name": "x", "phone": "8 916 000-00-01", "manager": "u"}},
        headers=user,
    )
    assert r.status_code == 409
    assert "Secret" not in r.text and f"#{hidden['id']}" not in r.text
    assert r.json()["duplicates"][0]["matches"] == []
    assert r.json()["duplicates"][0]["hidden"] is True
    # the admin's answer names it
    r = api.post("/catalogs/clients/records", {"values": {"phone": "+79160000001"}})
    assert r.json()["duplicates"][0]["matches"][0]["title"] == "Secret"
    # the user's scan shows no group made with the hidden record
    api.post(
        "/catalogs/clients/records?skip_duplicates=true",
        {"values": {"name": "x", "phone": "+79160000001", "manager": "u"}},
        headers=user,
    )
    r = api.post("/catalogs/clients/duplicates/scan", {}, headers=user)
    assert r.status_code == 200 and r.json()["items"] == []
    r = api.post("/catalogs/clients/duplicates/scan", {})
    assert [g["count"] for g in r.json()["items"]] == [2]


def test_scan_groups_pages_and_rule_changes(api):
    api.catalog("Clients", CLIENT_FIELDS)
    ids = api.records(
        "clients",
        [
            {"name": "Анна", "phone": "+79160000001", "inn": "7707 083893"},
            {"name": "анна", "phone": "8 916 000 00 01", "inn": "7707083893"},
            {"name": "Борис", "phone": "+79160000002"},
            {"name": "Борис", "phone": "+7 916 000-00-02"},
            {"name": "Борис", "phone": "+79160000002"},
            {"name": "Вера", "phone": "+79160000003"},
        ],
    )
    # a rule added afterwards computes the keys of existing records
    rule = api.post("/catalogs/clients/duplicate-rules", {"fields": ["phone"]}).json()
    r = api.post("/catalogs/clients/duplicates/scan")
    assert r.status_code == 200, r.text
    groups = r.json()["items"]
    assert [(g["key"], g["count"]) for g in groups] == [("+79160000001", 2), ("+79160000002", 3)]
    assert [x["id"] for x in groups[1]["records"]] == ids[2:5]
    page = api.post("/catalogs/clients/duplicates/scan", {"limit": 1}).json()
    assert len(page["items"]) == 1 and page["next_cursor"]
    rest = api.post(
        "/catalogs/clients/duplicates/scan", {"limit": 1, "cursor": page["next_cursor"]}
    ).json()
    assert [g["key"] for g in rest["items"]] == ["+79160000002"] and rest["next_cursor"] is None
    bad = api.post("/catalogs/clients/duplicates/scan", {"cursor": "!!"})
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "cursor"
    assert api.post("/catalogs/clients/duplicates/scan", {"limit": 0}).status_code == 422
    # the second rule: name + INN digits; the scan must then name the rule
    second = api.post(
        "/catalogs/clients/duplicate-rules",
        {"fields": ["name", {"field": "inn", "normalise": "digits"}]},
    ).json()
    assert api.post("/catalogs/clients/duplicates/scan").status_code == 422
    groups = api.post("/catalogs/clients/duplicates/scan", {"rule": second["id"]}).json()
    assert [[x["id"] for x in g["records"]] for g in groups["items"]] == [ids[:2]]
    # changing a rule's fields recomputes its keys
    api.patch(f"/catalogs/clients/duplicate-rules/{rule['id']}", {"fields": ["name"]})
    groups = api.post("/catalogs/clients/duplicates/scan", {"rule": rule["id"]}).json()
    assert [g["count"] for g in groups["items"]] == [2, 3]
    # updates move a record between groups
    api.patch(
        f"/catalogs/clients/records/{ids[5]}",
        {"values": {"name": "АННА"}},
        params={"skip_duplicates": "true"},
    )
    groups = api.post("/catalogs/clients/duplicates/scan", {"rule": rule["id"]}).json()
    assert [g["count"] for g in groups["items"]] == [3, 3]


def _upload(api, name):
    r = api.post("/files", files={"file": (name, b"content of " + name.encode(), "text/plain")})
    assert r.status_code == 201, r.text
    return r.json()["id"]


def _events_after(instance, seq):
    ws = instance.workspace(instance.settings.default_workspace)
    e = schema.events
    with ws.engine.connect() as conn:
        return conn.execute(sa.select(e.c.seq, e.c.type, e.c.payload).where(e.c.seq > seq)).all()


def test_merge_moves_links_comments_files_shares_and_keeps_histories(api, instance):
    api.catalog(
        "Clients",
        [*CLIENT_FIELDS,
         {"name": "Docs", "api_name": "docs", "type": "file"},
         {"name": "Partner", "api_name": "partner", "type": "link",
          "options": {"catalog": "clients"}}],
    )  # fmt: skip
    api.catalog(
        "Deals",
        [{"name": "Title", "api_name": "title", "type": "text"},
         {"name": "Client", "api_name": "client", "type": "link",
          "options": {"catalog": "clients"}},
         {"name": "Parties", "api_name": "parties", "type": "link",
          "options": {"catalog": "clients", "multiple": True}}],
    )  # fmt: skip
    api.post("/catalogs/clients/duplicate-rules", {"fields": ["phone"]})
    f1, f2 = _upload(api, "a.txt"), _upload(api, "b.txt")
    keep = api.record("clients", {"name": "Иван Петров", "phone": "+79161234567", "docs": [f1]})
    dup = api.post(
        "/catalogs/clients/records?skip_duplicates=true",
        {"values": {"name": "Петров И.", "phone": "8 916 123-45-67", "email": "ivan@example.com",
                    "inn": "7707083893", "docs": [f2]}},
    ).json()  # fmt: skip
    other = api.record("clients", {"name": "Other", "partner": [dup["id"]]})
    d1 = api.record("deals", {"title": "d1", "client": [dup["id"]]})
    d2 = api.record("deals", {"title": "d2", "parties": [keep["id"], dup["id"]]})
    api.post(f"/catalogs/clients/records/{dup['id']}/comments", {"text": "called him"})
    api.post("/users", {"email": "s@example.com", "name": "S", "password": "long-password-1"})
    sid = [u for u in api.get("/users").json()["items"] if u["email"] == "s@example.com"][0]["id"]
    r = api.post(f"/catalogs/clients/records/{dup['id']}/shares", {"user": sid, "edit": True})
    assert r.status_code in (200, 201), r.text
    last = max(seq for seq, _, _ in _events_after(instance, 0))

    r = api.post(
        "/catalogs/clients/duplicates/merge",
        {"into": keep["id"], "records": [dup["id"]], "values": {"name": dup["id"]}},
    )
    assert r.status_code == 200, r.text
    merged = r.json()
    v = merged["values"]
    assert v["name"] == "Петров И."  # chosen
    assert v["phone"] == "+79161234567"  # the survivor's own
    assert v["email"] == "ivan@example.com" and v["inn"] == "7707083893"  # empty: filled
    assert sorted(x["id"] for x in v["docs"]) == sorted([f1, f2])  # files: both kept
    assert api.get(f"/catalogs/clients/records/{dup['id']}").status_code == 404
    assert (
        api.get(f"/catalogs/deals/records/{d1['id']}").json()["values"]["client"][0]["id"]
        == keep["id"]
    )
    parties = api.get(f"/catalogs/deals/records/{d2['id']}").json()["values"]["parties"]
    assert [p["id"] for p in parties] == [keep["id"]]  # no repeat
    partner = api.get(f"/catalogs/clients/records/{other['id']}").json()["values"]["partner"]
    assert [p["id"] for p in partner] == [keep["id"]]
    comments = api.get(f"/catalogs/clients/records/{keep['id']}/comments").json()["items"]
    assert [c["text"] for c in comments] == ["called him"]
    shares = api.get(f"/catalogs/clients/records/{keep['id']}/shares").json()["items"]
    assert [(s["user"]["id"], s["edit"]) for s in shares] == [(sid, True)]
    history = api.get(f"/catalogs/clients/records/{keep['id']}/history").json()["items"]
    assert history[-1]["action"] == "merge"
    assert history[-1]["changes"]["_merged"]["new"] == [dup["id"]]
    assert history[-1]["changes"]["name"] == {"old": "Иван Петров", "new": "Петров И."}
    gone = api.get(f"/catalogs/clients/records/{dup['id']}/history").json()["items"]
    assert [h["action"] for h in gone] == ["create", "merged"]
    assert gone[-1]["changes"]["_merged_into"]["new"] == keep["id"]
    deal_history = api.get(f"/catalogs/deals/records/{d1['id']}/history").json()["items"]
    assert deal_history[-1]["changes"]["client"] == {"old": [dup["id"]], "new": [keep["id"]]}
    # the rule's keys follow: the survivor alone holds the phone now
    assert api.post("/catalogs/clients/duplicates/scan").json()["items"] == []
    # one event for the whole merge
    (event,) = _events_after(instance, last)
    assert event.type == "record.merged"
    assert event.payload["merged"] == [dup["id"]] and event.payload["values"]["name"] == "Петров И."


def test_merge_rights_and_bad_requests(api):
    _clients(api)
    a = api.record("clients", {"name": "a", "phone": "+79160000001", "manager": "u"})
    b = api.post(
        "/catalogs/clients/records?skip_duplicates=true",
        {"values": {"name": "b", "phone": "+79160000001", "manager": "boss"}},
    ).json()
    c = api.post(
        "/catalogs/clients/records?skip_duplicates=true",
        {"values": {"name": "c", "phone": "+79160000001", "manager": "u"}},
    ).json()
    user = _restricted_user(api)
    # b is invisible to the user: 404, nothing changed
    r = api.post(
        "/catalogs/clients/duplicates/merge", {"into": a["id"], "records": [b["id"]]}, headers=user
    )
    assert r.status_code == 404
    assert api.get(f"/catalogs/clients/records/{b['id']}").status_code == 200
    for body in (
        {"into": a["id"], "records": [a["id"]]},
        {"into": a["id"], "records": []},
        {"into": a["id"]},
        {"into": a["id"], "records": [c["id"]], "values": {"nope": a["id"]}},
        {"into": a["id"], "records": [c["id"]], "values": {"name": 12345}},
        {"into": a["id"], "records": [c["id"]], "extra": 1},
        [1, 2],
    ):
        r = api.post("/catalogs/clients/duplicates/merge", body)
        assert r.status_code == 422, (body, r.text)
    r = api.post(
        "/catalogs/clients/duplicates/merge", {"into": a["id"], "records": [c["id"]]}, headers=user
    )
    assert r.status_code == 200, r.text
    assert api.get(f"/catalogs/clients/records/{c['id']}").status_code == 404


def _reader_with_field_rule(api, phone_rule):
    """A user who sees every client, the phone under `phone_rule` (None: in full)."""
    api.post("/users", {"email": "r@example.com", "name": "R", "password": "long-password-1"})
    group = api.post("/groups", {"name": "readers"}).json()["id"]
    doc = {"view": True, "fields": {"phone": phone_rule} if phone_rule else {}}
    assert api.put("/catalogs/clients/rights", {"groups": {str(group): doc}}).status_code == 200
    uid = [u for u in api.get("/users").json()["items"] if u["email"] == "r@example.com"][0]
    api.patch(f"/users/{uid['id']}", {"groups": [group]})
    return {"Authorization": "Basic " + base64.b64encode(b"r@example.com:long-password-1").decode()}


@pytest.mark.parametrize("phone_rule", ["hidden", "masked"])
def test_a_rule_on_a_field_the_reader_does_not_read_is_not_theirs_to_scan(api, phone_rule):
    """The scan's key is the phone and its groups say who shares one: a reader whose phone
    field is hidden or masked must learn neither (as if the catalog had no such rule)."""
    _clients(api, rules=())
    first, _second = api.records(
        "clients", [{"name": "A", "phone": "+79160000001"}, {"name": "B", "phone": "89160000001"}]
    )
    rule = api.post("/catalogs/clients/duplicate-rules", {"fields": ["phone"]}).json()
    reader = _reader_with_field_rule(api, phone_rule)
    own = api.get(f"/catalogs/clients/records/{first}", headers=reader).json()
    assert own["values"].get("phone") != "+79160000001"  # the field rule holds on reads
    r = api.post("/catalogs/clients/duplicates/scan", {}, headers=reader)
    assert r.status_code == 422 and r.json()["errors"][0]["code"] == "duplicate_rule_not_found"
    r = api.post("/catalogs/clients/duplicates/scan", {"rule": rule["id"]}, headers=reader)
    assert r.status_code == 404 and "9160000001" not in r.text
    # a second rule on fields the reader reads is theirs, and is then the only one
    name_rule = api.post("/catalogs/clients/duplicate-rules", {"fields": ["name"]}).json()
    r = api.post("/catalogs/clients/duplicates/scan", {}, headers=reader)
    assert r.status_code == 200 and r.json()["rule"]["id"] == name_rule["id"]
    # the administrator scans the phone rule as before
    r = api.post("/catalogs/clients/duplicates/scan", {"rule": rule["id"]})
    assert [g["key"] for g in r.json()["items"]] == ["+79160000001"]


def test_a_reader_of_the_whole_field_scans_the_rule(api):
    _clients(api, rules=())
    api.records(
        "clients", [{"name": "A", "phone": "+79160000001"}, {"name": "B", "phone": "89160000001"}]
    )
    api.post("/catalogs/clients/duplicate-rules", {"fields": ["phone"]})
    reader = _reader_with_field_rule(api, "read_only")
    r = api.post("/catalogs/clients/duplicates/scan", {}, headers=reader)
    assert r.status_code == 200 and [g["count"] for g in r.json()["items"]] == [2]
