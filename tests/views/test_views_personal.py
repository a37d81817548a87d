"""Personal views (their author's alone, kept by any reader), optional view settings
checked by what their field can do, and deleting a view a link field is restricted to."""

from __future__ import annotations

import pytest
from conftest_support import *  # noqa: F403

from kartoteka.catalogs import service as catalogs
from kartoteka.errors import Forbidden, NotFound, ValidationFailed
from kartoteka.records import service as records
from kartoteka.rights import service as manage
from kartoteka.users import service as users
from kartoteka.views import service as views


@pytest.fixture
def deals(admin):
    catalogs.create_catalog(
        admin,
        {
            "name": "Deals",
            "api_name": "deals",
            "fields": [
                {"name": "Name", "type": "text"},
                {"name": "Amount", "type": "money"},
                {"name": "Stage", "type": "select", "options": {"choices": ["New", "Won"]}},
                {"name": "Photo", "type": "file"},
            ],
        },
    )
    return "deals"


@pytest.fixture
def reader(admin, make_user, as_user, deals):
    group = users.create_group(admin, {"name": "readers"})["id"]
    manage.put_rights(admin, deals, {"groups": {str(group): {"view": True}}})
    return as_user(make_user("rita", groups=[group]))


def test_a_reader_keeps_personal_views_nobody_else_sees(admin, reader, make_user, as_user, deals):
    mine = views.create_view(
        reader, deals, {"name": "Mine", "type": "table", "options": {"personal": True}}
    )
    assert [v["name"] for v in views.list_views(reader, deals)] == ["Mine"]
    # Not in the tabs of others, administrators included, nor readable by id for readers.
    assert views.list_views(admin, deals) == []
    group = users.list_groups(admin)[0]["id"]
    other = as_user(make_user("olga", groups=[group]))
    with pytest.raises(NotFound):
        views.read_view(other, deals, mine["id"])
    with pytest.raises(NotFound):
        views.update_view(other, deals, mine["id"], {"name": "Hijacked"})
    with pytest.raises(NotFound):
        views.delete_view(other, deals, mine["id"])
    renamed = views.update_view(reader, deals, mine["id"], {"name": "Still mine"})
    assert renamed["name"] == "Still mine"
    # Sharing it, or saving a shared view, needs the manage right.
    with pytest.raises(Forbidden):
        views.update_view(reader, deals, mine["id"], {"options": {"personal": False}})
    with pytest.raises(Forbidden):
        views.create_view(reader, deals, {"name": "For all", "type": "table"})
    views.delete_view(reader, deals, mine["id"])
    assert views.list_views(reader, deals) == []


def test_personal_must_be_a_boolean(admin, deals):
    with pytest.raises(ValidationFailed) as caught:
        views.create_view(
            admin, deals, {"name": "X", "type": "table", "options": {"personal": "yes"}}
        )
    assert "options.personal" in caught.value.fields


def test_optional_settings_name_a_field_that_can_serve(admin, deals):
    kanban = views.create_view(
        admin,
        deals,
        {
            "name": "Board",
            "type": "kanban",
            "options": {"group_field": "stage", "sum_field": "amount"},
        },
    )
    assert kanban["options"]["sum_field"] == "amount"
    with pytest.raises(ValidationFailed) as caught:
        views.update_view(
            admin, deals, kanban["id"], {"options": {"group_field": "stage", "sum_field": "name"}}
        )
    assert "options.sum_field" in caught.value.fields
    gallery = views.create_view(
        admin, deals, {"name": "Photos", "type": "gallery", "options": {"image_field": "photo"}}
    )
    assert gallery["options"] == {"image_field": "photo"}
    with pytest.raises(ValidationFailed):
        views.create_view(
            admin, deals, {"name": "P", "type": "gallery", "options": {"image_field": "amount"}}
        )
    blank = views.create_view(
        admin, deals, {"name": "P2", "type": "gallery", "options": {"image_field": ""}}
    )
    assert blank["options"] == {}


def test_deleting_a_view_lifts_the_restriction_of_links_to_it(admin, deals):
    won = views.create_view(
        admin, deals, {"name": "Won", "type": "table", "filter": {"stage": {"eq": "Won"}}}
    )
    catalogs.create_catalog(
        admin,
        {
            "name": "Invoices",
            "fields": [
                {"name": "Deal", "type": "link", "options": {"catalog": deals, "view": won["id"]}}
            ],
        },
    )
    new = records.create_record(admin, deals, {"name": "n", "stage": "New"})
    with pytest.raises(ValidationFailed):
        records.create_record(admin, "invoices", {"deal": [new["id"]]})
    views.delete_view(admin, deals, won["id"])
    link = admin.workspace.meta().catalog("invoices").field("deal")
    assert "view" not in link.options
    assert records.create_record(admin, "invoices", {"deal": [new["id"]]})["values"]["deal"]
