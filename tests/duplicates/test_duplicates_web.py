"""The card form meets a duplicate rule: the reason in the user's language, and saving
again writes it anyway (HTML form and the card script's JSON answer)."""

from __future__ import annotations

from support.web import sign_in


def test_card_form_duplicate_then_save_anyway(api, web):
    api.catalog("Clients", [{"name": "Name", "type": "text"},
                            {"name": "Phone", "api_name": "phone", "type": "phone"}])  # fmt: skip
    api.post("/catalogs/clients/duplicate-rules", {"fields": ["phone"]})
    first = api.record("clients", {"name": "Иван", "phone": "+79161234567"})
    csrf = sign_in(web)
    web.get("/?lang=ru")
    form = {"csrf": csrf, "name": "Ваня", "phone": "8 916 123-45-67"}
    r = web.post("/c/clients/new", data=form)
    assert r.status_code == 409
    assert f"дублирует #{first['id']} Иван" in r.text
    assert 'name="_skip_duplicates" value="1"' in r.text
    # The record it duplicates is a link; a new record has nothing to merge yet.
    assert f'<a href="/c/clients/r/{first["id"]}">#{first["id"]} Иван</a>' in r.text
    assert 'data-duplicate-merge href="" hidden' in r.text
    r = web.post("/c/clients/new", data=form, headers={"Accept": "application/json"})
    assert r.status_code == 409 and r.json()["duplicate"] is True
    assert "ещё раз" in r.json()["message"]
    assert r.json()["matches"] == [
        {"id": first["id"], "title": "Иван", "url": f"/c/clients/r/{first['id']}"}
    ]
    r = web.post("/c/clients/new", data={**form, "_skip_duplicates": "1"})
    assert r.status_code == 303
    assert api.get("/catalogs/clients/records?count=true").json()["count"] == 2


def test_card_history_tells_of_a_merge(api, web):
    api.catalog("Clients", [{"name": "Name", "type": "text"},
                            {"name": "Phone", "api_name": "phone", "type": "phone"}])  # fmt: skip
    keep = api.record("clients", {"name": "Иван", "phone": "+79161234567"})["id"]
    gone = api.record("clients", {"name": "Ваня", "phone": "+79161234567"})["id"]
    r = api.post("/catalogs/clients/duplicates/merge", {"into": keep, "records": [gone],
                                                       "values": {"name": gone}})  # fmt: skip
    assert r.status_code == 200, r.text
    sign_in(web)
    web.get("/?lang=ru")
    page = web.get(f"/c/clients/r/{keep}")
    assert page.status_code == 200
    assert "объединена с другими записями" in page.text
    assert f"Объединённые записи</span>: #{gone}" in page.text
    assert "<del>Иван</del> → <ins>Ваня</ins>" in page.text


def test_card_form_update_that_duplicates_offers_the_merge(api, web):
    api.catalog("Clients", [{"name": "Name", "type": "text"},
                            {"name": "Phone", "api_name": "phone", "type": "phone"}])  # fmt: skip
    api.post("/catalogs/clients/duplicate-rules", {"fields": ["phone"]})
    first = api.record("clients", {"name": "Иван", "phone": "+79161234567"})["id"]
    other = api.record("clients", {"name": "Пётр", "phone": "+79160000000"})["id"]
    csrf = sign_in(web)
    form = {"csrf": csrf, "name": "Пётр", "phone": "8 916 123-45-67"}
    r = web.post(f"/c/clients/r/{other}/edit", data=form, headers={"Accept": "application/json"})
    assert r.status_code == 409
    merge = f"/c/clients/duplicates/merge?ids={other},{first}"
    assert r.json()["matches"][-1] == {"merge": merge}
    page = web.post(f"/c/clients/r/{other}/edit", data=form)
    assert page.status_code == 409
    assert f'data-duplicate-merge href="{merge}"' in page.text
    assert "data-duplicate-links hidden" not in page.text
