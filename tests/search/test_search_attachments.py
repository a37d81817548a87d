"""Attached PDF, DOCX and XLSX files are searchable with their record, extracted by the worker."""

from __future__ import annotations

import io
import zipfile

import pytest
import sqlalchemy as sa
from conftest_support import *  # noqa: F403
from openpyxl import Workbook
from pypdf import PdfReader, PdfWriter

from kartoteka.catalogs import service as catalogs
from kartoteka.files import service as files
from kartoteka.records import service as records
from kartoteka.rights import service as manage
from kartoteka.search import attachments
from kartoteka.search import service as search
from kartoteka.users import service as users


def pdf(text: str) -> bytes:
    """A one-page PDF showing `text` (ASCII) in Helvetica, built object by object."""
    return pdf_of(f"BT /F1 14 Tf 40 700 Td ({text}) Tj ET".encode())


def pdf_of(stream: bytes) -> bytes:
    """A one-page PDF with this content stream."""
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R"
        b" /Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n")
    offsets = []
    for n, body in enumerate(objects, start=1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n" % n + body + b"\nendobj\n")
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1))
    for offset in offsets:
        out.write(b"%010d 00000 n \n" % offset)
    out.write(
        b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    )
    return out.getvalue()


def encrypted_pdf(text: str) -> bytes:
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(pdf(text))))
    writer.encrypt(user_password="secret", algorithm="RC4-128")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def docx(paragraphs: list[str], document: str | None = None) -> bytes:
    body = "".join(f"<w:p><w:r><w:t>{p}</w:t></w:r></w:p>" for p in paragraphs)
    xml = document or (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        '<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">'
        f"<w:body>{body}</w:body></w:document>"
    )
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("[Content_Types].xml", '<?xml version="1.0"?><Types/>')
        zf.writestr("word/document.xml", xml)
    return out.getvalue()


def xlsx(rows: list[list[object]]) -> bytes:
    book = Workbook()
    for row in rows:
        book.active.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def test_extracts_pdf_docx_and_xlsx_text() -> None:
    assert "Supply contract 42" in attachments.extract(pdf("Supply contract 42"))
    text = attachments.extract(docx(["Договор поставки цветов", "Срок &amp; цена"]))
    assert "Договор поставки цветов" in text and "Срок & цена" in text
    text = attachments.extract(xlsx([["Клиент", "Сумма"], ["ООО Ромашка", 1500]]))
    assert "ООО Ромашка 1500" in text


@pytest.mark.parametrize(
    ("data", "state"),
    [
        (b"%PDF-1.4 this is not a PDF at all", "failed"),
        (b"PK\x03\x04 a broken zip", "skipped"),  # not recognised as DOCX/XLSX
        (b"plain text", "skipped"),
    ],
)
def test_broken_and_unknown_files_are_marked_not_raised(data: bytes, state: str) -> None:
    with pytest.raises(attachments.Unreadable) as caught:
        attachments.extract(data)
    assert caught.value.state == state


def test_hostile_files_cost_bounded_work(monkeypatch) -> None:
    with pytest.raises(attachments.Unreadable) as caught:
        attachments.extract(encrypted_pdf("hidden words"))
    assert caught.value.state == "skipped" and "encrypted" in str(caught.value)
    # A zip bomb is refused from its directory, before anything is inflated.
    monkeypatch.setattr(attachments, "MAX_UNZIPPED", 1_000_000)
    bomb = docx([], document="<w:document>" + " " * 5_000_000 + "</w:document>")
    assert len(bomb) < 50_000
    with pytest.raises(attachments.Unreadable) as caught:
        attachments.extract(bomb)
    assert caught.value.state == "failed" and "inflate" in str(caught.value)
    # Entities are never expanded (the "billion laughs" has nothing to grow).
    laughs = (
        '<?xml version="1.0"?><!DOCTYPE d [<!ENTITY a "ha"><!ENTITY b "&a;&a;&a;&a;&a;&a;">'
        '<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;">]><w:document><w:body><w:p><w:r><w:t>&c;</w:t>'
        "</w:r></w:p></w:body></w:document>"
    )
    assert attachments.extract(docx([], document=laughs)).strip() == "&c;"
    # Text is capped in characters, files in bytes.
    monkeypatch.setattr(attachments, "MAX_CHARS", 100)
    assert len(attachments.extract(docx(["слово " * 1000]))) == 100
    monkeypatch.setattr(attachments, "MAX_BYTES", 10)
    with pytest.raises(attachments.Unreadable):
        attachments.extract(pdf("too big"))


def _upload(actor, name: str, data: bytes) -> int:
    upload = files.begin_upload(actor.workspace, name, None)
    upload.write(data)
    return int(files.store_upload(actor, upload)["id"])


@pytest.fixture
def contracts(admin) -> None:
    catalogs.create_catalog(
        admin,
        {
            "name": "Contracts",
            "fields": [
                {"name": "Name", "type": "text"},
                {"name": "Scan", "api_name": "scan", "type": "file"},
                {"name": "Region", "api_name": "region", "type": "select",
                 "options": {"choices": ["North", "South"]}},
            ],
        },
    )  # fmt: skip


def _names(actor, text: str) -> list[str]:
    items = records.list_records(actor, "contracts", search=text)["items"]
    return sorted(r["values"]["name"] for r in items)


def test_attachments_are_searchable_with_their_record(admin, contracts, make_user, as_user):
    ws = admin.workspace
    files_by_name = {
        "a.docx": docx(["Договоры поставки тюльпанов"]),
        "b.xlsx": xlsx([["Смета", "ремонт склада"]]),
        "c.pdf": pdf("Lease agreement for the warehouse"),
        "d.pdf": b"%PDF-1.4 broken beyond repair",
    }
    for n, (name, data) in enumerate(files_by_name.items()):
        file_id = _upload(admin, name, data)
        region = "North" if n % 2 == 0 else "South"
        records.create_record(
            admin, "contracts", {"name": name, "scan": [file_id], "region": region}
        )
    assert _names(admin, "тюльпан") == []  # extracted by the worker, not in the request
    assert attachments.extract_pending(ws) == 4
    assert attachments.extract_pending(ws) == 0  # each file is looked at once
    assert _names(admin, "тюльпаны") == ["a.docx"]
    assert _names(admin, "склад") == ["b.xlsx"]
    assert _names(admin, "warehouses") == ["c.pdf"]
    filtered = records.list_records(admin, "contracts", filter={"search": "смета"})["items"]
    assert [r["values"]["name"] for r in filtered] == ["b.xlsx"]
    found = search.search_workspace(admin, "тюльпаны")
    assert "<mark>тюльпанов</mark>" in found["items"][0]["snippet"]
    # Rights: the record rule applies, and a hidden file field is never matched.
    group = users.create_group(admin, {"name": "north"})["id"]
    doc = {"view": {"region": {"eq": "North"}}}
    manage.put_rights(admin, "contracts", {"groups": {str(group): doc}})
    nina = as_user(make_user("nina", groups=[group]))
    assert _names(nina, "тюльпаны") == ["a.docx"]
    assert _names(nina, "склад") == []  # South
    manage.put_rights(
        admin, "contracts", {"groups": {str(group): {**doc, "fields": {"scan": "hidden"}}}}
    )
    nina = as_user(make_user("nina2", groups=[group]))
    assert _names(nina, "тюльпаны") == []
    assert search.search_workspace(nina, "тюльпаны")["items"] == []
    # Replacing the file drops the old text from the record at once (the write reindexes).
    record = records.list_records(admin, "contracts", search="тюльпаны")["items"][0]
    records.update_record(admin, "contracts", record["id"], {"scan": []})
    assert _names(admin, "тюльпаны") == []


def slow_pdf(words: int) -> bytes:
    """A valid one-page PDF whose text takes pypdf seconds to extract (one operator per
    word: 100,000 take ~2.4 CPU seconds)."""
    return pdf_of(b"BT /F1 14 Tf 40 700 Td " + b"(word) Tj 1 0 Td " * words + b"ET")


def test_a_file_that_takes_too_long_is_given_up(admin, contracts, monkeypatch) -> None:
    fixed = slow_pdf(100_000)
    slow = _upload(admin, "slow.pdf", fixed)
    quick = _upload(admin, "quick.pdf", pdf("Quick delivery terms"))
    records.create_record(admin, "contracts", {"name": "slow", "scan": [slow]})
    records.create_record(admin, "contracts", {"name": "quick", "scan": [quick]})
    monkeypatch.setattr(attachments, "MAX_SECONDS", 1.0)  # the slow one needs ~2 CPU s
    assert attachments.extract_pending(admin.workspace) == 2
    with admin.workspace.engine.connect() as conn:
        rows = {r.file_id: r for r in conn.execute(attachments.texts.select())}
    assert rows[slow].state == "failed" and "longer than 1 s" in rows[slow].reason
    # The child was stopped; the next file got a fresh one.
    assert rows[quick].state == "done" and "delivery" in rows[quick].text
    assert _names(admin, "delivery") == ["quick"]


def test_the_pass_looks_only_at_files_not_looked_at(admin, contracts) -> None:
    ws = admin.workspace
    first = _upload(admin, "a.docx", docx(["Первый договор"]))
    records.create_record(admin, "contracts", {"name": "a", "scan": [first]})
    assert attachments.extract_pending(ws) == 1
    # An upload the pass meets before any record holds it is left alone, and the write
    # that attaches it later queues it, though a newer file moved the pass beyond it.
    late = _upload(admin, "late.docx", docx(["Поздний акт"]))
    newer = _upload(admin, "b.docx", docx(["Второй договор"]))
    records.create_record(admin, "contracts", {"name": "b", "scan": [newer]})
    assert attachments.extract_pending(ws) == 1
    with ws.engine.connect() as conn:
        query = sa.select(attachments.texts.c.file_id, attachments.texts.c.state)
        states = {r.file_id: r.state for r in conn.execute(query)}
    assert states == {first: "done", newer: "done"}
    records.create_record(admin, "contracts", {"name": "late", "scan": [late]})
    with ws.engine.connect() as conn:
        assert (
            conn.execute(
                sa.select(attachments.texts.c.state).where(attachments.texts.c.file_id == late)
            ).scalar()
            == attachments.QUEUED
        )
    # The pass reads the queue and the files above the highest id looked at, never the
    # whole files table.
    statements: list[str] = []

    def seen(conn, cursor, statement, *rest) -> None:
        statements.append(" ".join(statement.split()))

    sa.event.listen(ws.engine, "before_cursor_execute", seen)
    try:
        assert attachments.extract_pending(ws) == 1
        assert attachments.extract_pending(ws) == 0
    finally:
        sa.event.remove(ws.engine, "before_cursor_execute", seen)
    scans = [s for s in statements if s.startswith("SELECT") and "FROM files" in s]
    assert scans and all("files.id >" in s for s in scans), scans
    assert _names(admin, "акт") == ["late"]
    # A queued file whose record was deleted before the pass leaves the queue.
    gone = _upload(admin, "gone.docx", docx(["Пропавший"]))
    rid = records.create_record(admin, "contracts", {"name": "gone", "scan": [gone]})["id"]
    records.delete_record(admin, "contracts", rid)
    assert attachments.extract_pending(ws) == 0
    with ws.engine.connect() as conn:
        left = conn.execute(
            sa.select(attachments.texts.c.file_id).where(attachments.texts.c.file_id == gone)
        ).all()
    assert left == []
