"""A file field's accepted kinds and largest size: checked when a file is attached,
named in the refusal, offered to the browser's file chooser."""

from __future__ import annotations

import io

from PIL import Image

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (40, 30), "red").save(out, "PNG")
    return out.getvalue()


def upload(api, content: bytes, name: str, mime: str) -> int:
    r = api.post("/files", files={"file": (name, content, mime)})
    assert r.status_code == 201, r.text
    return int(r.json()["id"])


def photos(api, **options) -> None:
    api.catalog(
        "Photos",
        [{"name": "Name", "type": "text"},
         {"name": "Photo", "api_name": "photo", "type": "file", "options": options}],
        api_name="photos",
    )  # fmt: skip


def test_only_the_accepted_kinds_are_attached(api):
    photos(api, kinds=["image"], max_size_mb=1)
    field = api.get("/catalogs/photos/fields/photo").json()
    assert field["options"]["kinds"] == ["image"] and field["options"]["max_size_mb"] == 1
    pdf = upload(api, PDF, "contract.pdf", "application/pdf")
    r = api.post("/catalogs/photos/records", {"values": {"name": "x", "photo": [pdf]}})
    assert r.status_code == 422, r.text
    assert "contract.pdf" in r.json()["fields"]["photo"]
    ru = api.post(
        "/catalogs/photos/records",
        {"values": {"name": "x", "photo": [pdf]}},
        headers={"Accept-Language": "ru"},
    )
    assert "можно только" in ru.json()["fields"]["photo"]
    # Kinds are named in the reader's language; the params keep the kinds' codes.
    assert ru.json()["fields"]["photo"].endswith("можно только изображения")
    assert ru.json()["errors"][0]["params"]["kinds"] == "image"
    image = upload(api, png(), "face.png", "image/png")
    ok = api.post("/catalogs/photos/records", {"values": {"name": "y", "photo": [image]}})
    assert ok.status_code == 201, ok.text
    assert [f["id"] for f in ok.json()["values"]["photo"]] == [image]


def test_a_file_over_the_fields_size_is_refused(api):
    photos(api, max_size_mb=1)
    big = upload(api, PDF + b"0" * (1024 * 1024 + 1), "scan.pdf", "application/pdf")
    r = api.post("/catalogs/photos/records", {"values": {"name": "x", "photo": [big]}})
    assert r.status_code == 422 and "1 MB" in r.json()["fields"]["photo"], r.text
    small = upload(api, PDF, "note.pdf", "application/pdf")
    assert api.post("/catalogs/photos/records", {"values": {"photo": [small]}}).status_code == 201


def test_bad_kind_options_name_the_option(api):
    for options in ({"kinds": ["image", "exe"]}, {"kinds": "image"}, {"max_size_mb": 0},
                    {"max_size_mb": "10"}, {"max_size_mb": True}):  # fmt: skip
        r = api.post(
            "/catalogs",
            {"name": "Bad", "fields": [{"name": "F", "type": "file", "options": options}]},
        )
        assert r.status_code == 422, (options, r.text)
        assert any("options" in key for key in r.json()["fields"]), r.json()
    photos(api, kinds=["document", "image"])
    # Stored in one order whatever the order given; an empty list means any file.
    field = api.get("/catalogs/photos/fields/photo").json()
    assert field["options"]["kinds"] == ["image", "document"]
    cleared = api.patch("/catalogs/photos/fields/photo", {"options": {"kinds": []}})
    assert cleared.status_code == 200, cleared.text
    assert "kinds" not in cleared.json()["options"]
