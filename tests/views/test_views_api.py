"""Saved views of all five types, comments, related records and workspace settings."""

from __future__ import annotations


def tasks(api):
    api.catalog("Projects", [{"name": "Name", "type": "text"}])
    return api.catalog(
        "Tasks",
        [
            {"name": "Name", "type": "text"},
            {
                "name": "Status",
                "api_name": "status",
                "type": "select",
                "options": {"choices": ["New", "Done"]},
            },
            {"name": "Start", "type": "date"},
            {"name": "Finish", "type": "date"},
            {
                "name": "Project",
                "type": "link",
                "options": {"catalog": "projects", "multiple": True},
            },
        ],
    )


def test_views_of_every_type(api):
    tasks(api)
    specs = [
        {"name": "All", "type": "table", "sort": "-start", "fields": ["name", "status"]},
        {"name": "Board", "type": "kanban", "options": {"group_field": "status"}},
        {"name": "Calendar", "type": "calendar", "options": {"date_field": "start"}},
        {
            "name": "Plan",
            "type": "gantt",
            "options": {"start_field": "start", "end_field": "finish"},
        },
        {"name": "Cards", "type": "gallery"},
    ]
    for spec in specs:
        r = api.post("/catalogs/tasks/views", spec)
        assert r.status_code == 201, r.text
        assert r.json()["type"] == spec["type"]
    assert [v["name"] for v in api.get("/catalogs/tasks/views").json()["items"]] == [
        s["name"] for s in specs
    ]
    r = api.post("/catalogs/tasks/views", {"name": "Bad", "type": "kanban"})
    assert r.status_code == 422 and "options.group_field" in r.json()["fields"]
    r = api.post(
        "/catalogs/tasks/views",
        {"name": "Bad", "type": "gantt", "options": {"start_field": "name", "end_field": "finish"}},
    )
    assert r.status_code == 422 and r.json()["error"] == "VALIDATION"
    r = api.post("/catalogs/tasks/views", {"name": "Bad", "type": "pie"})
    assert r.status_code == 422 and "type" in r.json()["fields"]


def test_list_through_a_view_ands_the_extra_filter(api):
    tasks(api)
    api.records(
        "tasks",
        [
            {"name": "a", "status": "New", "start": "2026-01-01"},
            {"name": "b", "status": "Done", "start": "2026-01-02"},
            {"name": "c", "status": "New", "start": "2026-01-03"},
        ],
    )
    view = api.post(
        "/catalogs/tasks/views",
        {
            "name": "Open",
            "type": "table",
            "filter": {"status": {"eq": "New"}},
            "sort": "-start",
            "fields": ["name"],
        },
    ).json()
    r = api.get(f"/catalogs/tasks/records?view={view['id']}")
    assert [i["values"]["name"] for i in r.json()["items"]] == ["c", "a"]
    assert set(r.json()["items"][0]["values"]) == {"name"}
    r = api.get(f'/catalogs/tasks/records?view={view["id"]}&filter={{"name":{{"eq":"a"}}}}')
    assert [i["values"]["name"] for i in r.json()["items"]] == ["a"]
    r = api.patch(f"/catalogs/tasks/views/{view['id']}", {"filter": {"status": {"eq": "Done"}}})
    assert r.status_code == 200
    r = api.get(f"/catalogs/tasks/records?view={view['id']}")
    assert [i["values"]["name"] for i in r.json()["items"]] == ["b"]
    assert api.delete(f"/catalogs/tasks/views/{view['id']}").status_code == 204
    r = api.get(f"/catalogs/tasks/records?view={view['id']}")
    assert r.status_code == 404 and r.json()["error"] == "NOT_FOUND"


def test_comments_and_related(api):
    tasks(api)
    p = api.record("projects", {"name": "Apollo"})
    t1 = api.record("tasks", {"name": "Build", "project": [p["id"]]})
    api.record("tasks", {"name": "Launch", "project": p["id"]})
    r = api.post(f"/catalogs/tasks/records/{t1['id']}/comments", {"text": "Начали"})
    assert r.status_code == 201, r.text
    assert r.json()["user"]["name"]
    r = api.post(f"/catalogs/tasks/records/{t1['id']}/comments", {"text": "  "})
    assert r.status_code == 422 and r.json()["fields"]["text"]
    items = api.get(f"/catalogs/tasks/records/{t1['id']}/comments").json()["items"]
    assert [c["text"] for c in items] == ["Начали"]
    r = api.post("/catalogs/tasks/records/999999/comments", {"text": "x"})
    assert r.status_code == 404
    related = api.get(f"/catalogs/projects/records/{p['id']}/related").json()["items"]
    assert len(related) == 1
    assert related[0]["catalog"]["api_name"] == "tasks"
    assert related[0]["field"]["api_name"] == "project"
    assert sorted(i["title"] for i in related[0]["items"]) == ["Build", "Launch"]


def test_settings_time_zone(api):
    assert api.get("/settings").json()["timezone"] == "UTC"
    r = api.patch("/settings", {"timezone": "Europe/Moscow"})
    assert r.status_code == 200 and r.json()["timezone"] == "Europe/Moscow"
    r = api.patch("/settings", {"timezone": "Mars/Olympus"})
    assert r.status_code == 422 and r.json()["fields"]["timezone"]
    r = api.patch("/settings", {"colour": "red"})
    assert r.status_code == 422
