"""Files: upload (multipart, streamed to disk), download, thumbnails."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from fastapi import Depends, Request
from python_multipart.exceptions import FormParserError
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.concurrency import run_in_threadpool
from starlette.responses import FileResponse, Response

from kartoteka.context import Actor
from kartoteka.files import service
from kartoteka.files.errors import FileInvalid, FileTooLarge

from ..deps import actor
from ..responses import Router
from ..schemas import FileId

router = Router(tags=["files"])

#: Room for multipart boundaries and part headers on top of the file itself.
MULTIPART_OVERHEAD = 64 * 1024
MAX_PART_HEADERS = 16 * 1024

UPLOAD_DOC = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file"],
                    "properties": {"file": {"type": "string", "format": "binary"}},
                }
            }
        },
    }
}


def _missing(code: str, **params: Any) -> FileInvalid:
    return FileInvalid.of(code, "file", **params)


class _MultipartUpload:
    """Feeds the `file` part of a multipart body into a service Upload as it arrives."""

    def __init__(self, request: Request, a: Actor) -> None:
        self.workspace = a.workspace
        self.upload: service.Upload | None = None
        self.pending: list[bytes] = []
        self.in_file = False
        self.headers: dict[bytes, bytes] = {}
        self.header_name = b""
        self.header_value = b""
        self.header_bytes = 0
        self.boundary = self._boundary(request.headers.get("content-type", ""))
        # A body cut off mid-way (client gone, proxy timeout) never reaches the closing
        # boundary: what arrived is not the file, so it is refused, not stored.
        self.file_complete = False
        self.ended = False

    @staticmethod
    def _boundary(content_type: str) -> bytes:
        kind, params = parse_options_header(content_type)
        if kind != b"multipart/form-data" or not params.get(b"boundary"):
            raise _missing("upload_multipart")
        return params[b"boundary"]

    def callbacks(self) -> Any:
        """The parser callbacks (python-multipart calls them synchronously)."""
        return {
            "on_part_begin": self.on_part_begin,
            "on_header_field": self.on_header_field,
            "on_header_value": self.on_header_value,
            "on_header_end": self.on_header_end,
            "on_headers_finished": self.on_headers_finished,
            "on_part_data": self.on_part_data,
            "on_part_end": self.on_part_end,
            "on_end": self.on_end,
        }

    def on_part_begin(self) -> None:
        self.headers = {}
        self.in_file = False

    def on_header_field(self, data: bytes, start: int, end: int) -> None:
        self.header_name += data[start:end]
        self._count(end - start)

    def on_header_value(self, data: bytes, start: int, end: int) -> None:
        self.header_value += data[start:end]
        self._count(end - start)

    def _count(self, n: int) -> None:
        self.header_bytes += n
        if self.header_bytes > MAX_PART_HEADERS:
            raise _missing("upload_headers")

    def on_header_end(self) -> None:
        self.headers[self.header_name.strip().lower()] = self.header_value.strip()
        self.header_name = self.header_value = b""

    def on_headers_finished(self) -> None:
        _, options = parse_options_header(self.headers.get(b"content-disposition", b""))
        if options.get(b"name") != b"file":
            return
        if self.upload is not None:
            raise _missing("upload_one_file")
        filename = options.get(b"filename", b"").decode("utf-8", errors="replace")
        ctype = self.headers.get(b"content-type", b"").decode("latin-1")
        self.upload = service.begin_upload(self.workspace, filename, ctype)
        self.in_file = True

    def on_part_data(self, data: bytes, start: int, end: int) -> None:
        if self.in_file:
            self.pending.append(data[start:end])

    def on_part_end(self) -> None:
        self.in_file = False
        if self.upload is not None:
            self.file_complete = True

    def on_end(self) -> None:
        self.ended = True

    async def receive(self, request: Request) -> service.Upload:
        """Read the body chunk by chunk; file bytes are written in a worker thread."""
        limit = self.workspace.settings.max_upload_bytes
        parser = MultipartParser(self.boundary, self.callbacks())
        received = 0
        try:
            async for chunk in request.stream():
                # Checked here too: Content-Length may be absent (chunked) or understated.
                received += len(chunk)
                if received > limit + MULTIPART_OVERHEAD:
                    raise FileTooLarge.of("upload_too_large", None, limit=limit)
                parser.write(chunk)
                if self.pending and self.upload is not None:
                    data, self.pending = b"".join(self.pending), []
                    await run_in_threadpool(self.upload.write, data)
            parser.finalize()
        except BaseException as exc:
            if self.upload is not None:
                self.upload.abort()
            if isinstance(exc, FormParserError):
                raise _missing("upload_malformed", reason=str(exc)) from None
            raise
        if self.upload is None:
            raise _missing("upload_required")
        if not (self.file_complete and self.ended):
            self.upload.abort()
            raise _missing("upload_truncated")
        self.upload.close()
        return self.upload


async def received_upload(request: Request, a: Actor = Depends(actor)) -> service.Upload:
    """The uploaded file, already on disk in a temp file (authentication comes first)."""
    limit = a.workspace.settings.max_upload_bytes
    length = request.headers.get("content-length", "")
    if length.isdigit() and int(length) > limit + MULTIPART_OVERHEAD:
        raise FileTooLarge.of("upload_too_large", None, limit=limit)
    return await _MultipartUpload(request, a).receive(request)


@router.post(
    "/files",
    status_code=201,
    summary="Upload a file (multipart field 'file')",
    openapi_extra=UPLOAD_DOC,
)
def upload_file(
    upload: service.Upload = Depends(received_upload), a: Actor = Depends(actor)
) -> dict[str, Any]:
    """Store an uploaded file; attach it to a record by writing its id to a `file` field."""
    return service.store_upload(a, upload)


def content_disposition(kind: str, name: str) -> str:
    """RFC 6266/5987 header: an ASCII fallback plus the exact UTF-8 name."""
    fallback = "".join(ch if 32 <= ord(ch) < 127 and ch not in '"\\' else "_" for ch in name)
    return f"{kind}; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"


def _send(request: Request, content: service.FileContent) -> Response:
    etag = f'"{content.etag}"'
    headers = {
        "ETag": etag,
        "Content-Disposition": content_disposition(
            "inline" if content.inline else "attachment", content.name
        ),
        "X-Content-Type-Options": "nosniff",
        # Even a file opened directly must not run script or load anything.
        "Content-Security-Policy": "default-src 'none'; sandbox",
        # Rights decide who gets a file: shared caches must not keep it.
        "Cache-Control": "private, no-cache",
    }
    if etag in request.headers.get("if-none-match", ""):
        return Response(status_code=304, headers=headers)
    if content.path is not None:
        return FileResponse(content.path, media_type=content.mime, headers=headers)
    return Response(content.data, media_type=content.mime, headers=headers)


@router.get("/files/{file_id}", summary="Download a file")
def download_file(file_id: FileId, request: Request, a: Actor = Depends(actor)) -> Response:
    """The bytes, to whoever uploaded it (unattached) or may see the record holding it."""
    return _send(request, service.open_file(a, file_id))


@router.get("/files/{file_id}/thumbnail", summary="Thumbnail of an image (≤256×256)")
def file_thumbnail(file_id: FileId, request: Request, a: Actor = Depends(actor)) -> Response:
    """A PNG or JPEG preview; 404 for files that are not images, 422 for corrupt ones."""
    return _send(request, service.thumbnail(a, file_id))
