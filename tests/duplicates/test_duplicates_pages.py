"""The duplicates pages of the HTML UI: a catalog's groups under a rule, and the merge form
that keeps one record with the values chosen field by field."""

from __future__ import annotations

import base64
import re

from support.web import sign_in

from kartoteka.web.routes import duplicates as pages

PASSWORD = "long-password-1"


def _clients(api) -> dict[str, int]:
    """Clients (name, phone, city, tags: a multiple link) with two groups of the same phone;
    the rule is added after the records, so they are all written."""
    tags = api.catalog("Tags", [{"name": "Name", "type": "text"}])
    api.catalog(
        "Clients",
        [
            {"name": "Name", "type": "text"},
            {"name": "Phone", "api_name": "phone", "type": "phone"},
            {"name": "City", "api_name": "city", "type": "text"},
            {"name": "Tags", "api_name": "tags", "type": "link",
             "options": {"catalog": tags["id"], "multiple": True}},
        ],
    )  # fmt: skip
    vip, new = api.records("tags", [{"name": "VIP"}, {"name": "New"}])
    ids = api.records(
        "clients",
        [
            {"name": "Иван Петров", "phone": "+79161234567", "tags": [vip]},
            {"name": "Ваня Петров", "phone": "8 916 123-45-67", "city": "Москва", "tags": [new]},
            {"name": "И. Петров", "phone": "+7 916 1234567"},
            {"name": "Анна", "phone": "+79990000001"},
            {"name": "Анна С.", "phone": "+79990000001"},
            {"name": "Один", "phone": "+79990000009"},
        ],
    )
    r = api.post("/catalogs/clients/duplicate-rules", {"name": "Телефон", "fields": ["phone"]})
    assert r.status_code == 201, r.text
    return {"a": ids[0], "b": ids[1], "c": ids[2], "d": ids[3], "e": ids[4], "one": ids[5],
            "vip": vip, "new": new}  # fmt: skip


def _group_ids(html: str) -> list[list[int]]:
    """The record ids offered for merging, group by group."""
    groups = html.split("data-group>")[1:]
    return [[int(x) for x in re.findall(r'name="ids" value="(\d+)"', g)] for g in groups]


def test_groups_page_lists_each_group_with_its_records(api, web):
    ids = _clients(api)
    sign_in(web)
    page = web.get("/c/clients/duplicates?lang=ru")
    assert page.status_code == 200
    assert "Дубликаты в «Clients»" in page.text
    assert _group_ids(page.text) == [[ids["a"], ids["b"], ids["c"]], [ids["d"], ids["e"]]]
    # Each group is headed by its phone as the records show it, not the normalised key.
    assert '<span class="dup-key">+7 916 123-45-67</span>' in page.text
    assert "+79161234567" not in page.text and "3 записи" in page.text
    assert "Иван Петров" in page.text and "Ваня Петров" in page.text
    # The single record with its own phone is no group.
    assert "Один" not in page.text
    # The catalog's page leads here once it has a rule; a catalog without one does not.
    assert 'href="/c/clients/duplicates" data-duplicates-link' in web.get("/c/clients").text
    assert "data-duplicates-link" not in web.get("/c/tags").text
    english = web.get("/c/clients/duplicates?lang=en").text
    assert "3 records" in english and "Merge selected…" in english


def test_groups_page_without_rules_says_what_a_rule_is(api, web):
    api.catalog("Tags", [{"name": "Name", "type": "text"}])
    sign_in(web)
    page = web.get("/c/tags/duplicates?lang=en")
    assert page.status_code == 200
    assert "This catalog has no duplicate rules" in page.text
    assert 'href="/admin/catalogs/tags/duplicates/new"' in page.text


def test_groups_page_pages_by_cursor(api, web, monkeypatch):
    ids = _clients(api)
    monkeypatch.setattr(pages, "GROUPS_PAGE", 1)
    sign_in(web)
    first = web.get("/c/clients/duplicates?lang=en").text
    assert _group_ids(first) == [[ids["a"], ids["b"], ids["c"]]]
    found = re.search(r'href="([^"]+)" rel="next"', first)
    assert found is not None
    second = web.get(found.group(1).replace("&amp;", "&")).text
    assert _group_ids(second) == [[ids["d"], ids["e"]]]
    assert 'rel="next"' not in second and "First page" in second
    bad = web.get("/c/clients/duplicates?cursor=%%%")
    assert bad.status_code == 422


def test_merge_form_keeps_chosen_values_and_moves_the_rest(api, web):
    ids = _clients(api)
    a, b, c = ids["a"], ids["b"], ids["c"]
    csrf = sign_in(web)
    form = web.get(f"/c/clients/duplicates/merge?ids={a}&ids={b}&ids={c}&lang=ru")
    assert form.status_code == 200
    assert "Объединить 3 записи" in form.text
    # The oldest record stays unless another is chosen; each differing field offers every
    # record's value, the first filled one chosen; a multiple link may keep them all.
    assert re.search(rf'name="into" value="{a}" checked', form.text)
    assert re.search(rf'name="v.city" value="{b}" checked', form.text)
    assert re.search(r'name="v.tags" value="all" checked', form.text)
    # Another record to keep: its own values are chosen where it has them.
    other = web.get(f"/c/clients/duplicates/merge?ids={a},{b},{c}&into={c}").text
    assert re.search(rf'name="into" value="{c}" checked', other)
    assert re.search(rf'name="v.name" value="{c}" checked', other)
    assert re.search(rf'name="v.city" value="{b}" checked', other)  # its own is empty
    assert re.search(rf'name="v.city" value="{c}" data-empty', other)
    # The phones were typed differently but are stored alike: nothing to choose.
    assert 'data-merge-field="phone"' not in form.text
    assert "Одинаково во всех записях: Phone." in form.text
    r = web.post(
        "/c/clients/duplicates/merge",
        data={"csrf": csrf, "ids": [str(a), str(b), str(c)], "into": str(b),
              "v.name": str(c), "v.city": str(b), "v.tags": "all", "v.phone": str(a)},
    )  # fmt: skip
    assert r.status_code == 303, r.text
    assert r.headers["location"] == f"/c/clients/r/{b}?merged=2"
    kept = api.get(f"/catalogs/clients/records/{b}").json()["values"]
    assert kept["name"] == "И. Петров" and kept["city"] == "Москва"
    assert kept["phone"] == "+79161234567"
    assert sorted(t["id"] for t in kept["tags"]) == sorted([ids["vip"], ids["new"]])
    assert api.get(f"/catalogs/clients/records/{a}").status_code == 404
    assert api.get(f"/catalogs/clients/records/{c}").status_code == 404
    card = web.get(r.headers["location"]).text
    assert "2 записи объединены с этой" in card
    # The group is gone; the other one stays.
    assert _group_ids(web.get("/c/clients/duplicates").text) == [[ids["d"], ids["e"]]]


def test_merge_form_refuses_bad_requests_and_changes_nothing(api, web):
    ids = _clients(api)
    d, e = ids["d"], ids["e"]
    csrf = sign_in(web)
    assert web.get("/c/clients/duplicates/merge?ids=abc").status_code == 404
    one = web.get(f"/c/clients/duplicates/merge?ids={d}&lang=en")
    assert one.status_code == 422 and "Choose at least two records" in one.text
    # More records than one merge takes: refused before any is read.
    many = ",".join(str(i) for i in range(1, 5001))
    refused = web.get(f"/c/clients/duplicates/merge?ids={many}&lang=en")
    assert refused.status_code == 422 and "At most 51 records" in refused.text
    # A record that does not exist is left out (the reader may not see it either).
    assert web.get(f"/c/clients/duplicates/merge?ids={d}&ids=99999").status_code == 422
    # Without the form's CSRF token nothing is merged.
    no_csrf = web.post("/c/clients/duplicates/merge", data={"ids": [str(d), str(e)]})
    assert no_csrf.status_code == 403
    # A survivor that is no number the merge names (here 5,000 digits) falls back to the
    # oldest record; so does a choice naming a record outside the merge.
    huge = web.get(f"/c/clients/duplicates/merge?ids={d},{e}&into={'9' * 5000}")
    assert huge.status_code == 200 and re.search(rf'name="into" value="{d}" checked', huge.text)
    r = web.post(
        "/c/clients/duplicates/merge",
        data={"csrf": csrf, "ids": [str(d), str(e)], "into": str(d), "v.name": "99999"},
    )
    assert r.status_code == 303
    assert api.get(f"/catalogs/clients/records/{d}").json()["values"]["name"] == "Анна"
    assert api.get(f"/catalogs/clients/records/{e}").status_code == 404


def test_merge_needs_the_right_to_delete_the_others(api, web):
    ids = _clients(api)
    api.post("/users", {"email": "u@example.com", "name": "U", "password": PASSWORD})
    group = api.post("/groups", {"name": "sales"}).json()["id"]
    r = api.put(
        "/catalogs/clients/rights",
        {"groups": {str(group): {"view": True, "edit": True, "create": True}}},
    )
    assert r.status_code == 200, r.text
    uid = [u for u in api.get("/users").json()["items"] if u["email"] == "u@example.com"][0]["id"]
    api.patch(f"/users/{uid}", {"groups": [group]})
    csrf = sign_in(web, "u@example.com", PASSWORD)
    page = web.get("/c/clients/duplicates?lang=en")
    assert page.status_code == 200 and _group_ids(page.text)[0] == [ids["a"], ids["b"], ids["c"]]
    assert "Duplicate rules" not in page.text  # not a manager of the catalog
    r = web.post(
        "/c/clients/duplicates/merge",
        data={"csrf": csrf, "ids": [str(ids["d"]), str(ids["e"])], "into": str(ids["d"])},
    )
    assert r.status_code == 403
    assert "right to edit the record that stays and to delete the others" in r.text
    basic = base64.b64encode(f"u@example.com:{PASSWORD}".encode()).decode()
    user = {"Authorization": f"Basic {basic}"}
    assert api.get(f"/catalogs/clients/records/{ids['e']}", headers=user).status_code == 200


def test_card_names_the_records_sharing_its_key(api, web):
    ids = _clients(api)
    a, b, c = ids["a"], ids["b"], ids["c"]
    sign_in(web)
    card = web.get(f"/c/clients/r/{a}?lang=en").text
    assert "Possible duplicates under “Телефон”:" in card
    assert f'href="/c/clients/r/{b}">#{b} Ваня Петров</a>' in card
    assert f'href="/c/clients/r/{c}">#{c} И. Петров</a>' in card
    assert f'href="/c/clients/duplicates/merge?ids={a},{b},{c}"' in card
    assert "data-card-duplicates" not in web.get(f"/c/clients/r/{ids['one']}").text
    # Without a rule nothing is looked up or shown.
    assert "data-card-duplicates" not in web.get(f"/c/tags/r/{ids['vip']}").text
    # The grid offers "Merge selected" (its script shows it for two records or more).
    assert "data-grid-merge hidden" in web.get("/c/clients").text


def test_card_names_only_duplicates_the_reader_sees(api, web):
    ids = _clients(api)
    api.post("/users", {"email": "u@example.com", "name": "U", "password": PASSWORD})
    group = api.post("/groups", {"name": "sales"}).json()["id"]
    rule = {"view": {"city": {"empty": True}}}
    assert api.put("/catalogs/clients/rights", {"groups": {str(group): rule}}).status_code == 200
    uid = [u for u in api.get("/users").json()["items"] if u["email"] == "u@example.com"][0]["id"]
    api.patch(f"/users/{uid}", {"groups": [group]})
    # The administrator's card first: the statement kept for them must not serve the user.
    sign_in(web)
    assert f"#{ids['b']} Ваня Петров" in web.get(f"/c/clients/r/{ids['a']}?lang=en").text
    web.cookies.clear()
    sign_in(web, "u@example.com", PASSWORD)
    card = web.get(f"/c/clients/r/{ids['a']}?lang=en").text
    assert f"#{ids['c']} И. Петров" in card
    assert f"#{ids['b']}" not in card  # in Moscow: out of the reader's sight


def test_a_reader_who_does_not_read_the_rules_field_gets_no_duplicates(api, web):
    """The phone hidden from a reader: the groups (who shares a phone) and the card's
    "possible duplicates" would tell it, so the rule is not theirs (API: test_duplicates_api)."""
    ids = _clients(api)
    api.post("/users", {"email": "u@example.com", "name": "U", "password": PASSWORD})
    group = api.post("/groups", {"name": "sales"}).json()["id"]
    doc = {"view": True, "fields": {"phone": "hidden"}}
    assert api.put("/catalogs/clients/rights", {"groups": {str(group): doc}}).status_code == 200
    uid = [u for u in api.get("/users").json()["items"] if u["email"] == "u@example.com"][0]["id"]
    api.patch(f"/users/{uid}", {"groups": [group]})
    sign_in(web, "u@example.com", PASSWORD)
    assert "data-duplicates-link" not in web.get("/c/clients").text
    page = web.get("/c/clients/duplicates?lang=en")
    assert page.status_code == 200 and "data-group" not in page.text
    assert "916" not in page.text
    card = web.get(f"/c/clients/r/{ids['a']}?lang=en").text
    assert "data-card-duplicates" not in card and f"#{ids['b']}" not in card
