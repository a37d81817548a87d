"""Files: upload, download, thumbnails, rights that follow the record, garbage collection."""

from __future__ import annotations

import io
import uuid
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from PIL import Image
from support.files import Api, docs, png_bytes, second_user, stored_files, upload, uploaded

from kartoteka.context import Actor
from kartoteka.files import service as files
from kartoteka.files.errors import FileNotFound
from kartoteka.users import service as users


def test_upload_attach_read_download_thumbnail(api: Api) -> None:
    docs(api)
    content = png_bytes()
    f = uploaded(api, content, "фото отчёт.png", "application/octet-stream")
    assert f["mime"] == "image/png"  # sniffed from content, not the client's type
    assert f["size"] == len(content)
    assert f["name"] == "фото отчёт.png"
    assert f["url"] == f"/api/v1/files/{f['id']}"
    assert f["thumbnail_url"] == f"/api/v1/files/{f['id']}/thumbnail"
    rec = api.record("docs", {"name": "Report", "attachment": [f["id"]]})
    assert rec["values"]["attachment"] == [f]
    again = api.get(f"/catalogs/docs/records/{rec['id']}").json()
    assert again["values"]["attachment"] == [f]

    r = api.client.get(f["url"])
    assert r.status_code == 200
    assert r.content == content
    assert r.headers["content-type"] == "image/png"
    assert r.headers["content-length"] == str(len(content))
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["content-disposition"].startswith("inline;")
    assert "filename*=UTF-8''%D1%84%D0%BE%D1%82%D0%BE%20" in r.headers["content-disposition"]
    etag = r.headers["etag"]
    assert api.client.get(f["url"], headers={"If-None-Match": etag}).status_code == 304

    t = api.client.get(f["thumbnail_url"])
    assert t.status_code == 200, t.text
    assert t.headers["content-type"] in ("image/jpeg", "image/png")
    thumb = Image.open(io.BytesIO(t.content))
    assert max(thumb.size) <= 256
    assert thumb.size == (256, 171)
    # Cached on disk: the second request serves the same bytes.
    assert api.client.get(f["thumbnail_url"]).content == t.content
    assert any(p.name.endswith(".thumb") for p in stored_files(api))


def test_non_images_are_attachments_without_thumbnail(api: Api) -> None:
    html = b"<html><script>alert(1)</script></html>"
    f = uploaded(api, html, "page.html", "text/html")
    assert f["mime"] == "text/html"
    assert "thumbnail_url" not in f
    r = api.client.get(f["url"])
    assert r.status_code == 200
    assert r.content == html
    assert r.headers["content-disposition"].startswith("attachment;")
    assert r.headers["x-content-type-options"] == "nosniff"
    t = api.client.get(f"{f['url']}/thumbnail")
    assert t.status_code == 404
    assert t.json()["error"] == "NOT_FOUND"


def test_claimed_image_type_is_not_trusted(api: Api) -> None:
    f = uploaded(api, b"not really a picture", "fake.png", "image/png")
    assert f["mime"] == "application/octet-stream"
    assert "thumbnail_url" not in f
    assert api.client.get(f["url"]).headers["content-disposition"].startswith("attachment;")


def test_file_names_are_sanitised(api: Api) -> None:
    f = uploaded(api, b"x", "../../etc/pass\u202ewd.txt", "text/plain")
    assert f["name"] == "passwd.txt"
    assert files.clean_name("a\x00b\x07c\nd.txt") == "abcd.txt"
    assert uploaded(api, b"x", "C:\\Users\\me\\a.txt", "text/plain")["name"] == "a.txt"
    long = uploaded(api, b"x", "я" * 400 + ".pdf", "application/pdf")
    assert len(long["name"]) == 255
    assert long["name"].endswith(".pdf")
    assert files.clean_name("  ..  ") == "file"


def test_missing_file_part(api: Api) -> None:
    r = api.post("/files", files={"other": ("a.txt", b"x", "text/plain")})
    assert r.status_code == 422
    assert r.json()["error"] == "VALIDATION"
    assert "file" in r.json()["fields"]
    r = api.post("/files", {"file": "not multipart"})
    assert r.status_code == 422
    assert r.json()["error"] == "VALIDATION"
    assert "file" in r.json()["fields"]
    assert stored_files(api) == []


def test_upload_requires_authentication(client: TestClient) -> None:
    r = client.post("/api/v1/files", files={"file": ("a.txt", b"x", "text/plain")})
    assert r.status_code == 401
    assert r.json()["error"] == "UNAUTHENTICATED"


def test_oversized_upload_leaves_nothing(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    settings = api.client.app.state.instance.settings
    monkeypatch.setattr(settings, "max_upload_bytes", 1000)
    r = upload(api, b"x" * 1001, "big.bin", "application/octet-stream")
    assert r.status_code == 413
    assert r.json()["error"] == "TOO_LARGE"
    assert "1000 bytes" in r.json()["message"]
    assert stored_files(api) == []
    # Far over the limit: refused from Content-Length before the body is read.
    r = upload(api, b"x" * 200_000, "huge.bin", "application/octet-stream")
    assert r.status_code == 413
    assert r.json()["error"] == "TOO_LARGE"
    assert stored_files(api) == []
    assert upload(api, b"x" * 1000, "ok.bin").status_code == 201


def test_corrupt_image_thumbnail_is_422(api: Api) -> None:
    content = png_bytes()
    f = uploaded(api, content[: len(content) // 2], "broken.png")
    assert f["mime"] == "image/png"
    r = api.client.get(f["thumbnail_url"])
    assert r.status_code == 422
    assert r.json()["error"] == "VALIDATION"
    assert "file" in r.json()["fields"]
    # The original is still downloadable as uploaded.
    assert api.client.get(f["url"]).status_code == 200


def test_decompression_bomb_thumbnail_is_422(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)
    f = uploaded(api, png_bytes((100, 100)), "bomb.png")
    assert f["mime"] == "image/png"
    r = api.client.get(f["thumbnail_url"])
    assert r.status_code == 422
    assert r.json()["error"] == "VALIDATION"
    assert "decompression" in r.json()["fields"]["file"]


def test_transparent_images_get_png_thumbnails(api: Api) -> None:
    f = uploaded(api, png_bytes((300, 300), "RGBA"), "logo.png")
    r = api.client.get(f["thumbnail_url"])
    assert r.status_code == 200
    assert r.headers["content-type"] == "image/png"


def test_file_used_in_another_record(api: Api) -> None:
    docs(api)
    f = uploaded(api, png_bytes())
    api.record("docs", {"name": "A", "attachment": [f["id"]]})
    r = api.post("/catalogs/docs/records", {"values": {"name": "B", "attachment": [f["id"]]}})
    assert r.status_code == 422
    assert r.json()["error"] == "VALIDATION"
    assert "attachment" in r.json()["fields"]


def test_rights_follow_uploader_then_record(api: Api) -> None:
    docs(api)
    other = second_user(api, {"view": {"name": {"eq": "Shared"}}, "create": True})
    mine = uploaded(api, png_bytes())
    assert other.client.get(mine["url"]).status_code == 404
    r = other.client.get(mine["thumbnail_url"])
    assert r.status_code == 404
    assert r.json()["error"] == "NOT_FOUND"
    # The other user may not attach a file that is not theirs either.
    r = other.post(
        "/catalogs/docs/records", {"values": {"name": "Shared", "attachment": [mine["id"]]}}
    )
    assert r.status_code == 422
    assert r.json()["error"] == "VALIDATION"
    assert "attachment" in r.json()["fields"]
    secret = uploaded(api, b"secret", "secret.txt", "text/plain")
    api.record("docs", {"name": "Secret", "attachment": [secret["id"]]})
    assert other.client.get(secret["url"]).status_code == 404  # record outside their rule
    rec = api.record("docs", {"name": "Shared", "attachment": [mine["id"]]})
    assert other.client.get(mine["url"]).status_code == 200
    assert other.client.get(mine["thumbnail_url"]).status_code == 200
    # Their own unattached upload is theirs alone until attached.
    theirs = uploaded(other, b"hello", "note.txt", "text/plain")
    assert other.client.get(theirs["url"]).content == b"hello"
    assert api.client.get(theirs["url"]).status_code == 200  # administrators are not restricted
    # Deleting the record detaches the file: rights fall back to the uploader.
    assert api.delete(f"/catalogs/docs/records/{rec['id']}").status_code == 204
    assert other.client.get(mine["url"]).status_code == 404
    assert api.client.get(mine["url"]).status_code == 200
    other.client.close()


def test_hidden_file_field_hides_its_files(api: Api) -> None:
    docs(api)
    f = uploaded(api, png_bytes())
    api.record("docs", {"name": "A", "attachment": [f["id"]]})
    other = second_user(api, {"view": True, "fields": {"attachment": "hidden"}})
    r = other.client.get(f["url"])
    assert r.status_code == 404
    assert r.json()["error"] == "NOT_FOUND"
    other.client.close()


def test_no_grant_no_files(api: Api) -> None:
    docs(api)
    f = uploaded(api, png_bytes())
    api.record("docs", {"name": "Shared", "attachment": [f["id"]]})
    other = second_user(api, {"view": False})
    assert other.client.get(f["url"]).status_code == 404
    other.client.close()


def test_unknown_file_is_404(api: Api) -> None:
    r = api.client.get("/api/v1/files/999999")
    assert r.status_code == 404
    assert r.json()["error"] == "NOT_FOUND"


def test_workspace_isolation(api: Api, instance: Any) -> None:
    f = uploaded(api, png_bytes())
    name = f"t{uuid.uuid4().hex[:10]}b"
    ws_b = instance.create_workspace(name)
    users.create_user(
        Actor.system(ws_b),
        {"email": "boss@b.example", "name": "Boss", "password": "b-password-123", "is_admin": True},
    )
    with TestClient(api.client.app) as client:
        prefix = f"/w/{name}/api/v1"
        r = client.post(
            f"{prefix}/auth/login", json={"email": "boss@b.example", "password": "b-password-123"}
        )
        assert r.status_code == 200, r.text
        client.headers["Authorization"] = f"Bearer {r.json()['token']}"
        client.cookies.clear()
        r = client.get(f"{prefix}/files/{f['id']}")
        assert r.status_code == 404
        assert r.json()["error"] == "NOT_FOUND"
        b_api = type(api)(client, prefix)
        g = uploaded(b_api, b"b data", "b.txt", "text/plain")
        assert g["url"] == f"{prefix}/files/{g['id']}"
        assert client.get(g["url"]).content == b"b data"


def test_delete_orphans(api: Api, instance: Any) -> None:
    docs(api)
    kept = uploaded(api, png_bytes())
    orphan = uploaded(api, png_bytes((50, 50)), "orphan.png")
    assert api.client.get(orphan["thumbnail_url"]).status_code == 200
    api.record("docs", {"name": "Keep", "attachment": [kept["id"]]})
    ws = instance.workspace(instance.settings.default_workspace)
    assert files.delete_orphans(ws) == 0  # younger than a day
    before = len(stored_files(api))
    assert files.delete_orphans(ws, older_than=timedelta(0)) == 1
    assert len(stored_files(api)) == before - 2  # the file and its thumbnail
    assert api.client.get(orphan["url"]).status_code == 404
    assert api.client.get(kept["url"]).status_code == 200


def test_out_of_range_file_id(api: Api, instance: Any) -> None:
    # Whichever layer refuses (path validation or the service), never a database error.
    codes = {404: "NOT_FOUND", 422: "VALIDATION"}
    for file_id in ("0", str(2**31), str(2**40), "7637277425144536512604405760"):
        for suffix in ("", "/thumbnail"):
            r = api.client.get(f"/api/v1/files/{file_id}{suffix}")
            assert r.status_code in codes, (file_id, r.text)
            assert r.json()["error"] == codes[r.status_code]
    admin = Actor.system(instance.workspace(instance.settings.default_workspace))
    with pytest.raises(FileNotFound):
        files.get_file(admin, 2**40)
