"""Files service: receive uploads, decide who may read a file, serve bytes and thumbnails.

A file belongs to its uploader until a record's `file` field holds it; from then on
the rights on the file are the rights on that record, as they are now (the records
service sets `files.record_id`). A file removed from the record's value stays the
record's, marked `detached_at`, so the record's history can put it back; it is garbage
once nothing can: never attached, its record deleted, or its field (or catalog) dropped,
for longer than the grace period (docs/decisions/0020-detached-files.md).
"""

from __future__ import annotations

import hashlib
import io
import mimetypes
import re
import threading
import unicodedata
import uuid
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any, BinaryIO

import sqlalchemy as sa
from PIL import Image, ImageOps, UnidentifiedImageError

from kartoteka.access import service as access
from kartoteka.access.visibility import FieldView, visible_ids
from kartoteka.context import Actor, Workspace
from kartoteka.records.read import file_url
from kartoteka.storage import schema
from kartoteka.storage.engine import read_connection, utcnow

from .errors import FileInvalid, FileNotFound, FileTooLarge
from .storage import BlobStore, store_for

MAX_NAME = 255
MAX_FILE_ID = 2**31 - 1
THUMB_SIZE = 256
#: The most pixels a thumbnail may decode (after JPEG's draft scaling): a 9000×9000 PNG
#: would take ~300 MiB and most of a second; it gets no thumbnail (422) instead.
MAX_THUMBNAIL_PIXELS = 24_000_000
#: Thumbnails decoded at once per process: a burst of first views must not take every
#: core and the memory of the server.
_thumbnail_slots = threading.BoundedSemaphore(2)
ORPHAN_AGE = timedelta(days=1)
DEFAULT_MIME = "application/octet-stream"
MIME_RE = re.compile(r"^[a-z0-9][a-z0-9!#$&^_.+-]{0,99}/[a-z0-9][a-z0-9!#$&^_.+-]{0,99}$")

#: Image formats recognised from content: (magic prefix, Pillow format, MIME type).
#: Only these count as images; Pillow knows more formats, some with weak signatures
#: that ordinary documents could match.
IMAGE_MAGIC: list[tuple[bytes, str, str]] = [
    (b"\x89PNG\r\n\x1a\n", "PNG", "image/png"),
    (b"\xff\xd8\xff", "JPEG", "image/jpeg"),
    (b"GIF87a", "GIF", "image/gif"),
    (b"GIF89a", "GIF", "image/gif"),
    (b"BM", "BMP", "image/bmp"),
    (b"II*\x00", "TIFF", "image/tiff"),
    (b"MM\x00*", "TIFF", "image/tiff"),
    (b"\x00\x00\x01\x00", "ICO", "image/x-icon"),
]
IMAGE_FORMATS = ["PNG", "JPEG", "GIF", "BMP", "TIFF", "ICO", "WEBP"]
#: Images a browser may show inline; everything else is served as an attachment so
#: an uploaded HTML or SVG file can never run script in the application's origin.
INLINE_MIMES = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp", "image/bmp"})


@dataclass
class FileContent:
    """What the API needs to send a file: metadata plus where the bytes are."""

    name: str
    mime: str
    size: int
    etag: str
    inline: bool
    path: Path | None
    data: bytes | None = None

    def open(self) -> BinaryIO:
        """The content as a readable binary stream."""
        if self.data is not None:
            return io.BytesIO(self.data)
        assert self.path is not None
        return self.path.open("rb")


# ----- names and types -------------------------------------------------------------------
def clean_name(name: str | None) -> str:
    """A safe display name: no path parts, no control or format characters, ≤ 255 chars."""
    text = unicodedata.normalize("NFC", name or "")
    text = re.split(r"[/\\]", text)[-1]
    # Cf covers bidi overrides (U+202E) that make "exe.png" look like "png.exe".
    text = "".join(ch for ch in text if unicodedata.category(ch) not in ("Cc", "Cf"))
    text = text.strip().strip(".").strip()
    if not text:
        return "file"
    if len(text) <= MAX_NAME:
        return text
    stem, dot, ext = text.rpartition(".")
    if dot and 0 < len(ext) <= 16:
        return stem[: MAX_NAME - len(ext) - 1].rstrip() + "." + ext
    return text[:MAX_NAME]


def _declared_mime(content_type: str | None, name: str) -> str:
    """The client's type (or a guess from the name), never an image type: those are sniffed."""
    declared = (content_type or "").split(";")[0].strip().lower()
    if not MIME_RE.match(declared) or declared == DEFAULT_MIME:
        declared = (mimetypes.guess_type(name)[0] or DEFAULT_MIME).lower()
    if declared.startswith("image/"):
        return DEFAULT_MIME
    return declared


def sniff_image(path: Path) -> str | None:
    """The MIME type of an image recognised from content (Pillow confirms), else None."""
    with path.open("rb") as handle:
        head = handle.read(16)
    match = next(((fmt, mime) for magic, fmt, mime in IMAGE_MAGIC if head.startswith(magic)), None)
    if match is None and head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        match = ("WEBP", "image/webp")
    if match is None:
        return None
    try:
        with Image.open(path, formats=[match[0]]):
            return match[1]
    except Image.DecompressionBombError:
        # Still an image; the thumbnail refuses it and the download is unaffected.
        return match[1]
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError):
        return None


# ----- upload ----------------------------------------------------------------------------
class Upload:
    """An upload being received: bytes go to a temp file, hashed and counted on the way."""

    def __init__(self, workspace: Workspace, name: str | None, content_type: str | None) -> None:
        self.workspace = workspace
        self.name = clean_name(name)
        self.content_type = content_type
        self.limit = workspace.settings.max_upload_bytes
        self.size = 0
        self.sha256 = hashlib.sha256()
        self.store = store_for(workspace.files_dir)
        self.handle, self.temp_path = self.store.temp_file()

    def write(self, data: bytes) -> None:
        """Append a chunk; FileTooLarge (and the temp file removed) past the limit."""
        self.size += len(data)
        if self.size > self.limit:
            self.abort()
            raise FileTooLarge.of(
                "file_too_large", None, limit=self.limit, mib=self.limit // (1024 * 1024)
            )
        self.sha256.update(data)
        self.handle.write(data)

    def close(self) -> None:
        """Flush and close the temp file (the upload is complete)."""
        if not self.handle.closed:
            self.handle.close()

    def abort(self) -> None:
        """Drop the temp file: nothing of a failed upload stays on disk."""
        self.close()
        self.temp_path.unlink(missing_ok=True)


def begin_upload(workspace: Workspace, name: str | None, content_type: str | None) -> Upload:
    """Start receiving a file into a temp file of the workspace's store."""
    return Upload(workspace, name, content_type)


def store_upload(actor: Actor, upload: Upload) -> dict[str, Any]:
    """Keep a received upload: sniff its type, move it into place, record it; returns its JSON."""
    key = None
    try:
        upload.close()
        mime = sniff_image(upload.temp_path) or _declared_mime(upload.content_type, upload.name)
        hex_id = uuid.uuid4().hex
        key = f"{hex_id[:2]}/{hex_id}"
        upload.store.put_file(key, upload.temp_path)
        row = {
            "name": upload.name,
            "size": upload.size,
            "mime": mime,
            "sha256": upload.sha256.hexdigest(),
            "storage_key": key,
            "uploaded_by": actor.user_id,
            "created_at": utcnow(),
        }
        t = schema.files
        with actor.workspace.engine.begin() as conn:
            file_id = conn.execute(sa.insert(t).values(row).returning(t.c.id)).scalar_one()
    except BaseException:
        upload.abort()
        if key is not None:
            upload.store.delete(key)
        raise
    return file_json(actor, {"id": file_id, **row})


def file_json(actor: Actor, row: Any) -> dict[str, Any]:
    """A file as the API shows it (the same shape a `file` field value has)."""
    m = row if isinstance(row, dict) else row._mapping
    item = {
        "id": m["id"],
        "name": m["name"],
        "size": m["size"],
        "mime": m["mime"],
        "url": file_url(actor, m["id"]),
    }
    if m["mime"].startswith("image/"):
        item["thumbnail_url"] = file_url(actor, m["id"], thumbnail=True)
    return item


# ----- rights ----------------------------------------------------------------------------
def _visible_row(actor: Actor, file_id: int) -> Any:
    """The file's row if the actor may read it; FileNotFound otherwise (existence hidden)."""
    missing = FileNotFound.of("file_not_found", None, id=file_id)
    if not 0 < file_id <= MAX_FILE_ID:
        # Ids outside the column's range cannot exist; the database would refuse the bind.
        raise missing
    t = schema.files
    with read_connection(actor.workspace.engine) as conn:
        row = conn.execute(sa.select(t).where(t.c.id == file_id)).first()
        if row is None:
            raise missing
        if actor.token_scopes and actor.token_scopes.get("catalogs") is not None:
            # A catalog-scoped token (even an administrator's) reaches only files of its
            # catalogs, and unattached files it uploaded itself.
            catalog = actor.workspace.meta().catalog(row.catalog_id or 0)
            if row.record_id is None:
                if not _own_upload(actor, row):
                    raise missing
            elif catalog is None or not access.within_token_scope(actor, catalog):
                raise missing
        if actor.is_admin:
            return row
        if row.record_id is None:
            if not _own_upload(actor, row):
                raise missing
            return row
        catalog = actor.workspace.meta().catalog(row.catalog_id)
        if catalog is None:
            raise missing
        field = catalog.by_id.get(row.field_id)
        # A hidden or masked field must not leak through its files either.
        if field is None or not FieldView.of(actor, catalog).clear(field.api_name):
            raise missing
        # The same record filter as every read path (grants, record rules and shares).
        if row.record_id not in visible_ids(conn, actor, catalog, [row.record_id]):
            raise missing
    return row


def _own_upload(actor: Actor, row: Any) -> bool:
    """An upload no record ever held, read by its uploader.

    A file its record let go of when the record was deleted is no longer its uploader's:
    the record's rights governed it, and there is no record left to grant them.
    """
    return (
        actor.user_id is not None and row.uploaded_by == actor.user_id and row.detached_at is None
    )


def get_file(actor: Actor, file_id: int) -> dict[str, Any]:
    """A file's metadata, if the actor may read it."""
    return file_json(actor, _visible_row(actor, file_id))


def open_file(actor: Actor, file_id: int) -> FileContent:
    """The file's content and headers' data, if the actor may read it."""
    row = _visible_row(actor, file_id)
    store = store_for(actor.workspace.files_dir)
    if not store.exists(row.storage_key):
        # The row outlived its bytes (restored database, lost disk): same answer as absent.
        raise FileNotFound.of("file_not_found", None, id=file_id)
    path = store.local_path(row.storage_key)
    return FileContent(
        name=row.name,
        mime=row.mime,
        size=row.size,
        etag=row.sha256,
        inline=row.mime in INLINE_MIMES,
        path=path,
        data=None if path else _read_all(store, row.storage_key),
    )


def _read_all(store: BlobStore, key: str) -> bytes:
    with store.open(key) as handle:
        return handle.read()


# ----- thumbnails ------------------------------------------------------------------------
def thumbnail(actor: Actor, file_id: int) -> FileContent:
    """A ≤256×256 preview of an image file, made on first request and kept on disk."""
    row = _visible_row(actor, file_id)
    if not row.mime.startswith("image/"):
        raise FileNotFound.of("file_no_thumbnail", None, id=file_id)
    store = store_for(actor.workspace.files_dir)
    key = row.storage_key + ".thumb"
    if not store.exists(key):
        if not store.exists(row.storage_key):
            raise FileNotFound.of("file_not_found", None, id=file_id)
        with store.open(row.storage_key) as handle:
            store.put_bytes(key, make_thumbnail(handle))
    data = _read_all(store, key)
    png = data.startswith(b"\x89PNG")
    name = f"{row.name.rsplit('.', 1)[0]}-thumbnail.{'png' if png else 'jpg'}"
    return FileContent(
        name=name,
        mime="image/png" if png else "image/jpeg",
        size=len(data),
        etag=hashlib.sha256(data).hexdigest(),
        inline=True,
        path=None,
        data=data,
    )


def make_thumbnail(source: BinaryIO) -> bytes:
    """PNG (keeps transparency) or JPEG bytes of the image scaled to fit 256×256.

    Refuses decompression bombs and corrupt images with FileInvalid.
    """
    try:
        with _thumbnail_slots, Image.open(source, formats=IMAGE_FORMATS) as im:
            # JPEG decodes at 1/2..1/8 scale for free: a 50-megapixel photo costs little.
            im.draft("RGB", (THUMB_SIZE * 2, THUMB_SIZE * 2))
            if im.width * im.height > MAX_THUMBNAIL_PIXELS:
                # english-ok: caught below and answered as the coded image_too_large.
                raise Image.DecompressionBombError("too many pixels")
            im.thumbnail((THUMB_SIZE, THUMB_SIZE))
            small = ImageOps.exif_transpose(im)
            return _encode_thumbnail(small)
    except Image.DecompressionBombError:
        raise FileInvalid.of("image_too_large", "file") from None
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, EOFError) as exc:
        raise FileInvalid.of("image_corrupt", "file", reason=str(exc)) from None


def _encode_thumbnail(im: Image.Image) -> bytes:
    out = io.BytesIO()
    transparent = im.mode in ("RGBA", "LA", "PA") or "transparency" in im.info
    if transparent:
        im.convert("RGBA").save(out, "PNG", optimize=True)
    else:
        im.convert("RGB").save(out, "JPEG", quality=85)
    return out.getvalue()


# ----- garbage collection ----------------------------------------------------------------
def garbage_condition(older_than: timedelta) -> sa.ColumnElement[bool]:
    """Files nothing holds or can put back, for longer than `older_than`.

    Held: a record's value has it. Can be put back: it left the value of a record that
    still exists, through a field that still exists, so that record's history names it
    (history of a living record is never deleted). Everything else is garbage once its
    grace period, counted from when it was let go of (or uploaded), is over.
    """
    t, fields = schema.files, schema.fields
    field_alive = sa.exists(sa.select(fields.c.id).where(fields.c.id == t.c.field_id))
    since = sa.func.coalesce(t.c.detached_at, t.c.created_at)
    return sa.and_(sa.or_(t.c.record_id.is_(None), ~field_alive), since < utcnow() - older_than)


def delete_orphans(workspace: Workspace, older_than: timedelta = ORPHAN_AGE) -> int:
    """Delete the files `garbage_condition` names, with their bytes; returns how many."""
    t = schema.files
    # The condition is re-checked by the DELETE itself, so a file attached meanwhile stays.
    with workspace.engine.begin() as conn:
        keys = (
            conn.execute(
                sa.delete(t).where(garbage_condition(older_than)).returning(t.c.storage_key)
            )
            .scalars()
            .all()
        )
    store = store_for(workspace.files_dir)
    for key in keys:
        store.delete(key)
        store.delete(key + ".thumb")
    store.sweep_temp(max(older_than.total_seconds(), 3600))
    return len(keys)
