"""Workspaces for the hosting administrator in the browser (HTTP): the operator's switch,
creating with a first administrator, backup download and restore."""

from __future__ import annotations

import io
import re
import tarfile

import pytest
from support.web import sign_in


@pytest.fixture
def settings(tmp_path):
    """Per-test settings that allow backups from the web interface."""
    from conftest import make_settings

    return make_settings(tmp_path, workspaces_ui="backup")


def test_create_backup_and_restore_a_workspace(instance, api, web, client):
    main = instance.settings.default_workspace
    csrf = sign_in(web)
    page = web.get("/admin/workspaces")
    assert page.status_code == 200 and main in page.text and "Download backup" in page.text
    bad = web.post("/admin/workspaces", data={"csrf": csrf, "name": "Bad Name", "email": "x"})
    assert (
        bad.status_code == 422 and 'id="err-name"' in bad.text and 'id="err-email"' not in bad.text
    )
    name = f"{main}-acme"
    made = web.post(
        "/admin/workspaces", data={"csrf": csrf, "name": name, "email": "boss@acme.example"}
    )
    assert made.status_code == 201, made.text
    link = re.search(rf'value="http[^"]*(/w/{name}/link/kti_[^"]+)"', made.text).group(1)
    set_pw = client.post(link, data={"password": "boss-password-1", "password2": "boss-password-1"})
    assert set_pw.status_code == 200
    login = client.post(
        f"/w/{name}/api/v1/auth/login",
        json={"email": "boss@acme.example", "password": "boss-password-1"},
    )
    assert login.status_code == 200
    again = web.post(
        "/admin/workspaces", data={"csrf": csrf, "name": name, "email": "b@acme.example"}
    )
    assert again.status_code == 422 and "already exists" in again.text

    backup = web.post(f"/admin/workspaces/{name}/backup", data={"csrf": csrf})
    assert backup.status_code == 200
    assert backup.headers["content-type"] == "application/gzip"
    assert name in backup.headers["content-disposition"]
    with tarfile.open(fileobj=io.BytesIO(backup.content), mode="r:gz") as tar:
        assert "manifest.json" in tar.getnames()

    copy = f"{main}-copy"
    restored = web.post(
        "/admin/workspaces/restore",
        data={"csrf": csrf, "name": copy},
        files={"archive": ("acme.tar.gz", backup.content, "application/gzip")},
    )
    assert restored.status_code == 303, restored.text
    login = client.post(
        f"/w/{copy}/api/v1/auth/login",
        json={"email": "boss@acme.example", "password": "boss-password-1"},
    )
    assert login.status_code == 200
    taken = web.post(
        "/admin/workspaces/restore",
        data={"csrf": csrf, "name": copy},
        files={"archive": ("acme.tar.gz", backup.content, "application/gzip")},
    )
    assert taken.status_code == 422 and "already exists" in taken.text
    junk = web.post(
        "/admin/workspaces/restore",
        data={"csrf": csrf, "name": f"{main}-junk"},
        files={"archive": ("x.tar.gz", b"not a backup", "application/gzip")},
    )
    assert junk.status_code == 422 and 'id="err-restore_archive"' in junk.text
    self_restore = web.post(
        "/admin/workspaces/restore",
        data={"csrf": csrf, "name": main, "replace": "1"},
        files={"archive": ("acme.tar.gz", backup.content, "application/gzip")},
    )
    assert self_restore.status_code == 422 and 'id="err-restore_name"' in self_restore.text
    log = api.get("/security/log", params={"event": "workspace_backup"}).json()["items"]
    assert [e["detail"]["action"] for e in log] == ["restore", "backup"]


def test_the_operator_switch_is_off_by_default(tmp_path):
    from conftest import make_settings

    assert make_settings(tmp_path).workspaces_ui == "off"


def test_nothing_happens_while_the_operator_does_not_allow_it(api, web, instance):
    assert instance.settings.workspaces_ui == "backup"
    instance.settings.workspaces_ui = "manage"
    csrf = sign_in(web)
    page = web.get("/admin/workspaces")
    assert "Download backup" not in page.text and "Restore a backup" not in page.text
    main = instance.settings.default_workspace
    r = web.post(f"/admin/workspaces/{main}/backup", data={"csrf": csrf})
    assert r.status_code == 422
    instance.settings.workspaces_ui = "off"
    page = web.get("/admin/workspaces")
    assert "has not allowed" in page.text
    r = web.post("/admin/workspaces", data={"csrf": csrf, "name": f"{main}-x", "email": "a@b.c"})
    assert r.status_code == 422 and "does not allow" in r.text
    # Other tests' workspaces share a PostgreSQL server: count only this test's.
    assert [w["name"] for w in instance.list_workspaces() if w["name"].startswith(main)] == [main]


def test_only_administrators_of_the_main_workspace(api, web):
    api.post("/users", {"email": "u@example.com", "name": "U", "password": "user-password-1"})
    sign_in(web, "u@example.com", "user-password-1")
    assert web.get("/admin/workspaces").status_code == 403


def test_a_foreign_archive_is_refused_in_the_readers_language(instance, web):
    csrf = sign_in(web)
    archive = io.BytesIO()
    with tarfile.open(fileobj=archive, mode="w:gz") as tar:
        data = b"{}"
        info = tarfile.TarInfo("readme.json")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    name = f"{instance.settings.default_workspace}-other"
    r = web.post(
        "/admin/workspaces/restore?lang=ru",
        data={"csrf": csrf, "name": name},
        files={"archive": ("other.tar.gz", archive.getvalue(), "application/gzip")},
    )
    assert r.status_code == 422
    assert "это не резервная копия Картотеки (manifest.json нет" in r.text
