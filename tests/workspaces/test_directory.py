"""The account directory: which workspaces an e-mail has an active account in, answered
from the control database without opening every workspace."""

from __future__ import annotations

from kartoteka.context import Actor
from kartoteka.storage import directory
from kartoteka.users import service as users
from kartoteka.workspaces.service import Instance

PASSWORD = "long-password-1"


def add(instance, suffix: str, email: str) -> tuple[str, int]:
    name = f"{instance.settings.default_workspace}{suffix}"
    ws = instance.create_workspace(name)
    user = users.create_user(
        Actor.system(ws), {"email": email, "name": "Same person", "password": PASSWORD}
    )
    return name, user["id"]


def mine(instance, email: str) -> list[str]:
    main = instance.settings.default_workspace
    return [n for n in instance.workspaces_with_account(email) if n.startswith(main)]


def test_accounts_follow_creation_email_change_deactivation_and_deletion(instance):
    main = instance.settings.default_workspace
    b, b_user = add(instance, "b", "Same@Example.com")
    c, c_user = add(instance, "c", "same@example.com")
    assert mine(instance, "SAME@example.com") == [b, c]
    ws_b = instance.workspace(b)
    users.update_user(Actor.system(ws_b), b_user, {"email": "other@example.com"})
    assert mine(instance, "same@example.com") == [c]
    assert mine(instance, "other@example.com") == [b]
    ws_c = instance.workspace(c)
    users.update_user(Actor.system(ws_c), c_user, {"active": False})
    assert mine(instance, "same@example.com") == []
    users.update_user(Actor.system(ws_c), c_user, {"active": True})
    assert mine(instance, "same@example.com") == [c]
    users.delete_user(Actor.system(ws_c), c_user)
    assert mine(instance, "same@example.com") == []
    instance.delete_workspace(b)
    assert mine(instance, "other@example.com") == []
    assert main in instance.workspaces_with_account(instance.settings.admin_email)


def test_the_question_opens_no_workspace_and_old_workspaces_are_synced_once(instance):
    b, _ = add(instance, "b", "same@example.com")
    c, _ = add(instance, "c", "same@example.com")
    # A workspace written before the directory existed: its accounts are not there yet.
    directory.forget(instance.dbs.control, c)
    other = Instance(instance.settings)
    try:
        assert mine(other, "same@example.com") == [b, c]  # c synced on the way
        opened = set(other.dbs.open_engines())
        assert c in opened and b not in opened  # only the unsynced one was opened
        other.dbs.dispose()
        again = Instance(instance.settings)
        try:
            assert mine(again, "same@example.com") == [b, c]
            assert b not in again.dbs.open_engines() and c not in again.dbs.open_engines()
        finally:
            again.close()
    finally:
        other.close()


def test_the_switcher_asks_the_control_database_at_most_once_per_ttl(instance, monkeypatch):
    """Every signed-in page shows the switcher: asking again within ACCOUNTS_TTL costs no
    query, asking after it one; a change this process makes shows at once."""
    import sqlalchemy as sa

    from kartoteka.workspaces import service as workspaces

    b, b_user = add(instance, "b", "same@example.com")
    statements: list[str] = []

    def count(conn, cursor, statement, *args):
        if statement.lstrip().upper().startswith("SELECT"):  # not SQLite's BEGIN
            statements.append(statement)

    control = instance.dbs.control
    sa.event.listen(control, "before_cursor_execute", count)
    try:
        mine(instance, "same@example.com")
        assert len(statements) == 1  # unsynced workspaces and accounts in one statement
        mine(instance, "Same@example.com")
        assert len(statements) == 1  # answered from the process's cache
        users.update_user(Actor.system(instance.workspace(b)), b_user, {"active": False})
        assert mine(instance, "same@example.com") == []  # this process's change: at once
        statements.clear()
        monkeypatch.setattr(workspaces, "ACCOUNTS_TTL", 0.0)
        mine(instance, "same@example.com")
        assert len(statements) == 1
    finally:
        sa.event.remove(control, "before_cursor_execute", count)


def test_a_workspace_being_created_is_never_taken_for_one_never_synced(instance, monkeypatch):
    """The switcher syncs (opens, migrates) workspaces from before the directory; one being
    created must not look like them, or a page asking meanwhile migrates it under its
    creator (pages answered 409 while parallel tests created workspaces on one PostgreSQL)."""
    name = f"{instance.settings.default_workspace}new"
    asked_meanwhile: list[str] = []
    create_storage = instance.dbs.create_storage

    def create_while_asked(location: str) -> None:
        asked_meanwhile.extend(directory.lookup(instance.dbs.control, "same@example.com")[0])
        create_storage(location)

    monkeypatch.setattr(instance.dbs, "create_storage", create_while_asked)
    instance.create_workspace(name)
    assert name not in asked_meanwhile
    assert name not in directory.lookup(instance.dbs.control, "same@example.com")[0]
