"""Users and groups: validation, rights to manage them, and what others may see."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from conftest_support import *  # noqa: F403
from conftest_support import ADMIN_EMAIL

from kartoteka.auth import service as auth
from kartoteka.auth import tokens
from kartoteka.catalogs import service as catalogs
from kartoteka.context import Actor, Workspace
from kartoteka.errors import Conflict, Forbidden, NotFound, Unauthenticated, ValidationFailed
from kartoteka.users import service as users

USER_KEYS = {"id", "email", "name", "groups", "profile", "active", "is_admin", "created_at"}


def test_create_and_get_user(admin: Actor) -> None:
    sales = users.create_group(admin, {"name": "Sales"})
    spec = {
        "email": " Bob@Example.COM ",
        "name": "Bob",
        "password": "long-enough",
        "groups": [sales["id"]],
        "profile": {"region": "north", "level": 3, "vip": True, "note": None},
    }
    bob = users.create_user(admin, spec)
    assert set(bob) >= USER_KEYS
    assert bob["email"] == "bob@example.com" and bob["groups"] == [sales["id"]]
    assert bob["profile"] == spec["profile"]
    assert bob["active"] is True and bob["is_admin"] is False
    assert bob["created_at"].endswith("+00:00")
    assert users.get_user(admin, bob["id"]) == bob
    assert bob["id"] in {u["id"] for u in users.list_users(admin)}


@pytest.mark.parametrize(
    ("spec", "field"),
    [
        ({"name": "No Email"}, "email"),
        ({"email": "not-an-email", "name": "X"}, "email"),
        ({"email": "x@example.com"}, "name"),
        ({"email": "x@example.com", "name": "  "}, "name"),
        ({"email": "x@example.com", "name": "X", "password": "short"}, "password"),
        ({"email": "x@example.com", "name": "X", "groups": "1"}, "groups"),
        ({"email": "x@example.com", "name": "X", "groups": [True]}, "groups"),
        ({"email": "x@example.com", "name": "X", "groups": [999]}, "groups"),
        ({"email": "x@example.com", "name": "X", "profile": []}, "profile"),
        ({"email": "x@example.com", "name": "X", "profile": {"a b": 1}}, "profile"),
        ({"email": "x@example.com", "name": "X", "profile": {"k": [1]}}, "profile"),
        ({"email": "x@example.com", "name": "X", "active": "yes"}, "active"),
        ({"email": "x@example.com", "name": "X", "is_admin": 1}, "is_admin"),
        ({"email": "x@example.com", "name": "X", "colour": "red"}, "colour"),
    ],
)
def test_create_user_validation(admin: Actor, spec: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationFailed) as err:
        users.create_user(admin, spec)
    assert field in err.value.fields


def test_every_bad_key_is_reported(admin: Actor) -> None:
    with pytest.raises(ValidationFailed) as err:
        users.create_user(admin, {"email": "nope", "password": "x", "active": 0})
    assert set(err.value.fields) == {"email", "password", "active", "name"}


def test_duplicate_email_is_a_conflict(admin: Actor, make_user: Callable[..., dict]) -> None:
    make_user("bob")
    with pytest.raises(Conflict):
        users.create_user(admin, {"email": "BOB@example.com", "name": "Other Bob"})
    carol = make_user("carol")
    with pytest.raises(Conflict):
        users.update_user(admin, carol["id"], {"email": "bob@example.com"})


def test_only_admins_manage(
    make_user: Callable[..., dict], as_user: Callable[[dict], Actor], admin: Actor
) -> None:
    bob = as_user(make_user("bob"))
    carol = make_user("carol")
    group = users.create_group(admin, {"name": "Ops"})
    calls = [
        lambda: users.create_user(bob, {"email": "z@example.com", "name": "Z"}),
        lambda: users.update_user(bob, carol["id"], {"name": "C"}),
        lambda: users.update_user(bob, bob.user_id, {"is_admin": True}),
        lambda: users.delete_user(bob, carol["id"]),
        lambda: users.create_group(bob, {"name": "Mine"}),
        lambda: users.update_group(bob, group["id"], {"name": "Mine"}),
        lambda: users.delete_group(bob, group["id"]),
    ]
    for call in calls:
        with pytest.raises(Forbidden):
            call()


def test_others_see_only_the_basics(
    admin: Actor, make_user: Callable[..., dict], as_user: Callable[[dict], Actor]
) -> None:
    bob = make_user("bob", profile={"salary": 100})
    carol = as_user(make_user("carol"))
    listed = users.list_users(carol)
    # Names, not e-mails: a list of every address is not everyone's to read ...
    assert {u["name"] for u in listed} >= {"Bob", "Carol"}
    assert [u["email"] for u in listed if "email" in u] == ["carol@example.com"]
    assert all(set(u) - {"email"} == {"id", "name", "active"} for u in listed)
    assert "profile" not in users.get_user(carol, bob["id"])
    assert "email" not in users.get_user(carol, bob["id"])
    assert users.get_user(carol, carol.user_id)["profile"] == {}
    # ... unless the workspace shows them.
    catalogs.set_setting(admin, users.SHOW_EMAILS_SETTING, True)
    listed = users.list_users(carol)
    assert {u["email"] for u in listed} >= {ADMIN_EMAIL, "bob@example.com", "carol@example.com"}
    assert users.get_user(carol, bob["id"])["email"] == "bob@example.com"


def test_user_may_change_own_name_and_password(
    ws: Workspace, make_user: Callable[..., dict], as_user: Callable[[dict], Actor]
) -> None:
    bob = as_user(make_user("bob"))
    patch = {"name": "Robert", "password": "brand-new-pw", "current_password": "password-bob"}
    changed = users.update_user(bob, bob.user_id, patch)
    assert changed["name"] == "Robert"
    auth.login(ws, "bob@example.com", "brand-new-pw")
    with pytest.raises(Unauthenticated):
        auth.login(ws, "bob@example.com", "password-bob")


def test_update_user(admin: Actor, make_user: Callable[..., dict]) -> None:
    bob = make_user("bob")
    group = users.create_group(admin, {"name": "Support"})
    changed = users.update_user(
        admin, bob["id"], {"groups": [group["id"]], "profile": {"region": "south"}, "lang": "ru"}
    )
    assert changed["groups"] == [group["id"]] and changed["profile"] == {"region": "south"}
    assert users.update_user(admin, bob["id"], {"groups": []})["groups"] == []
    with pytest.raises(NotFound):
        users.update_user(admin, 987654, {"name": "Ghost"})
    with pytest.raises(ValidationFailed):
        users.update_user(admin, bob["id"], {"password": "short"})


def test_last_admin_is_protected(admin: Actor, make_user: Callable[..., dict]) -> None:
    assert admin.user_id is not None
    for patch in ({"is_admin": False}, {"active": False}):
        with pytest.raises(Conflict):
            users.update_user(admin, admin.user_id, patch)
    with pytest.raises(Conflict):
        users.delete_user(admin, admin.user_id)
    make_user("second", is_admin=True)
    users.update_user(admin, admin.user_id, {"is_admin": False})


def test_delete_user_removes_tokens(
    ws: Workspace, admin: Actor, make_user: Callable[..., dict], as_user: Callable[[dict], Actor]
) -> None:
    bob = make_user("bob")
    token = tokens.create_api_token(as_user(bob), "bob")["token"]
    auth.actor_from_token(ws, token)
    users.delete_user(admin, bob["id"])
    with pytest.raises(Unauthenticated):
        auth.actor_from_token(ws, token)
    with pytest.raises(NotFound):
        users.get_user(admin, bob["id"])
    with pytest.raises(NotFound):
        users.delete_user(admin, bob["id"])


def test_set_password_for_the_cli(ws: Workspace, make_user: Callable[..., dict]) -> None:
    make_user("bob")
    users.set_password(ws, "BOB@example.com", "cli-password")
    auth.login(ws, "bob@example.com", "cli-password")
    with pytest.raises(NotFound):
        users.set_password(ws, "ghost@example.com", "cli-password")
    with pytest.raises(ValidationFailed):
        users.set_password(ws, "bob@example.com", "short")


def test_groups_crud(admin: Actor, make_user: Callable[..., dict]) -> None:
    sales = users.create_group(admin, {"name": "Sales"})
    assert sales == {"id": sales["id"], "name": "Sales"}
    with pytest.raises(Conflict):
        users.create_group(admin, {"name": "Sales"})
    with pytest.raises(ValidationFailed) as err:
        users.create_group(admin, {"title": "x"})
    assert set(err.value.fields) == {"title", "name"}
    renamed = users.update_group(admin, sales["id"], {"name": "Sales EU"})
    assert users.get_group(admin, sales["id"]) == renamed == {"id": sales["id"], "name": "Sales EU"}
    bob = make_user("bob", groups=[sales["id"]])
    users.delete_group(admin, sales["id"])
    assert users.get_user(admin, bob["id"])["groups"] == []
    assert sales["id"] not in {g["id"] for g in users.list_groups(admin)}
    with pytest.raises(NotFound):
        users.get_group(admin, sales["id"])


def test_group_rename_conflict(admin: Actor) -> None:
    users.create_group(admin, {"name": "A"})
    b = users.create_group(admin, {"name": "B"})
    with pytest.raises(Conflict):
        users.update_group(admin, b["id"], {"name": "A"})
