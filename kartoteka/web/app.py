"""The HTML UI: server-rendered Jinja2 pages with htmx, signed in by the session cookie.

Pages live at `/` (default workspace) and `/w/{workspace}/`. Every handler goes through
`_guard`, which resolves the workspace and the session, checks the CSRF token of form
POSTs, and turns domain errors into an HTML error page, so the UI never answers 500
for bad input.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData

from kartoteka.api import deps
from kartoteka.api.errors import status_and_code
from kartoteka.auth import service as auth
from kartoteka.catalogs.models import Catalog, Field
from kartoteka.catalogs.service import get_catalog, list_catalogs
from kartoteka.comments import service as comments
from kartoteka.context import Actor, Workspace
from kartoteka.errors import (
    DomainError,
    NotFound,
    RateLimited,
    TotpRequired,
    Unauthenticated,
    ValidationFailed,
)
from kartoteka.notices import service as notices
from kartoteka.records import service as records
from kartoteka.records.read import visible_fields

from . import forms, i18n

HERE = Path(__file__).parent
ROOT = HERE.parents[1]
HTMX_FILE = ROOT / "node_modules" / "htmx.org" / "dist" / "htmx.min.js"
PAGE_SIZE = 50
TABLE_COLUMNS = 8
SECURITY_HEADERS = {
    "Cache-Control": "no-store",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Content-Security-Policy": "default-src 'self'; frame-ancestors 'none'; "
    "form-action 'self'; base-uri 'self'",
}


@dataclass
class Ctx:
    """One request as the pages see it: where, who, in which language."""

    request: Request
    base: str
    lang: str
    workspace: Workspace | None = None
    actor: Actor | None = None
    csrf: str = ""

    def t(self, key: str, **params: Any) -> str:
        """Translate a UI string."""
        return i18n.translator(self.lang)(key, **params)


# ----- rendering -----------------------------------------------------------------------
@cache
def templates() -> Environment:
    """The Jinja2 environment (built once, on first use)."""
    env = Environment(
        loader=FileSystemLoader(HERE / "templates"),
        autoescape=select_autoescape(["html"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals["value_text"] = forms.value_text
    return env


def render(ctx: Ctx, name: str, status: int = 200, **data: Any) -> HTMLResponse:
    """A page from a template, with the security headers and the language cookie."""
    tz = ctx.actor.timezone if ctx.actor else UTC
    html = (
        templates()
        .get_template(name)
        .render(
            t=ctx.t,
            lang=ctx.lang,
            base=ctx.base,
            actor=ctx.actor,
            csrf=ctx.csrf,
            path=ctx.request.url.path,
            languages=i18n.LANGUAGES,
            when=lambda value: forms.when_text(value, tz),
            notices_unread=_unread_notices(ctx),
            **data,
        )
    )
    response = HTMLResponse(html, status_code=status, headers=SECURITY_HEADERS)
    _remember_lang(ctx.request, response)
    return response


def _unread_notices(ctx: Ctx) -> int:
    """Unread notices for the administrator's top bar (0 for everyone else)."""
    if ctx.actor is None or not ctx.actor.is_admin:
        return 0
    try:
        return notices.unread_count(ctx.actor)
    except DomainError:
        return 0


def _remember_lang(request: Request, response: Response) -> None:
    chosen = i18n.normalise(request.query_params.get("lang"))
    if chosen and chosen != request.cookies.get(i18n.LANG_COOKIE):
        response.set_cookie(
            i18n.LANG_COOKIE,
            chosen,
            max_age=365 * 86400,
            samesite="lax",
            path="/",
            secure=_secure(request),
        )


def _secure(request: Request) -> bool:
    return bool(deps.instance(request).settings.secure_cookies)


def _lang(request: Request, actor: Actor | None = None) -> str:
    return i18n.choose(
        request.query_params.get("lang"),
        request.cookies.get(i18n.LANG_COOKIE),
        actor.lang if actor else None,
        request.headers.get("accept-language"),
    )


def _base(request: Request) -> str:
    name = request.path_params.get("workspace")
    return f"/w/{quote(name, safe='')}" if name else ""


# ----- the guard: workspace, session, CSRF, errors -------------------------------------
Handler = Callable[[Ctx], Response]


def _guard(
    request: Request, handler: Handler, form: FormData | None = None, public: bool = False
) -> Response:
    """Resolve workspace and session, check CSRF on forms, render domain errors as pages."""
    ctx = Ctx(request=request, base=_base(request), lang=_lang(request))
    try:
        ctx.workspace = deps.workspace(request)
        if not public:
            signed_in = _sign_in(ctx)
            if signed_in is not None:
                return signed_in
            if form is not None and not _csrf_ok(ctx, form):
                return error_page(ctx, 403, ctx.t("err.csrf"))
        return handler(ctx)
    except DomainError as exc:
        return _domain_error(ctx, exc)


def _sign_in(ctx: Ctx) -> Response | None:
    """Fill ctx.actor from the session cookie, or answer with a way to the login page."""
    token = ctx.request.cookies.get(deps.SESSION_COOKIE)
    assert ctx.workspace is not None
    if token:
        try:
            ctx.actor, ctx.csrf = auth.actor_from_session(ctx.workspace, token)
        except Unauthenticated:
            ctx.actor = None
    if ctx.actor is None:
        return _to_login(ctx)
    ctx.lang = _lang(ctx.request, ctx.actor)
    return None


def _csrf_ok(ctx: Ctx, form: FormData) -> bool:
    sent = form.get("csrf")
    return isinstance(sent, str) and bool(sent) and hmac.compare_digest(sent, ctx.csrf)


def _to_login(ctx: Ctx) -> Response:
    target = f"{ctx.base}/login?next={quote(ctx.request.url.path, safe='/')}"
    if ctx.request.headers.get("hx-request"):
        # htmx would swap a followed redirect into the table; ask it to navigate instead.
        return Response(status_code=200, headers={"HX-Redirect": target})
    return RedirectResponse(target, status_code=303)


def _domain_error(ctx: Ctx, exc: DomainError) -> Response:
    status, code = status_and_code(exc)
    if isinstance(exc, Unauthenticated) and ctx.workspace is not None:
        return _to_login(ctx)
    key = {
        "NOT_FOUND": "err.not_found",
        "FORBIDDEN": "err.forbidden",
        "RATE_LIMITED": "err.rate_limited",
    }.get(code)
    message = ctx.t(key) if key else exc.message
    response = error_page(ctx, status, message)
    if isinstance(exc, RateLimited):
        response.headers["Retry-After"] = str(exc.retry_after)
    return response


def error_page(ctx: Ctx, status: int, message: str) -> HTMLResponse:
    """The error page (status and a message in the reader's language)."""
    return render(ctx, "error.html", status=status, status_code=status, message=message)


def _redirect(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303, headers={"Cache-Control": "no-store"})


async def _form(request: Request) -> FormData:
    return await request.form(max_files=0, max_fields=1000)


def _record_id(text: str) -> int:
    if not text.isdigit() or len(text) > 18:
        raise NotFound(f"record {text!r} not found")
    return int(text)


# ----- login and logout ----------------------------------------------------------------
def _safe_next(ctx: Ctx, target: Any) -> str:
    """Only local paths are followed after login (no open redirect)."""
    if (
        isinstance(target, str)
        and target.startswith("/")
        and not target.startswith("//")
        and "\\" not in target
        and len(target) < 2000
    ):
        return target
    return ctx.base + "/"


def login_page(ctx: Ctx) -> Response:
    """The sign-in form."""
    return _login_form(ctx, 200, None, "", _safe_next(ctx, ctx.request.query_params.get("next")))


def _login_form(
    ctx: Ctx, status: int, error: str | None, email: str, target: str, totp: bool = False
) -> Response:
    return render(
        ctx, "login.html", status=status, error=error, email=email, next=target, totp=totp
    )


def login_submit(ctx: Ctx, form: FormData) -> Response:
    """Check the credentials; set the same cookies as POST /api/v1/auth/login."""
    email, password = str(form.get("email") or ""), str(form.get("password") or "")
    code = str(form.get("totp") or "").strip() or None
    target = _safe_next(ctx, form.get("next"))
    assert ctx.workspace is not None
    if not email.strip() or not password:
        return _login_form(ctx, 422, ctx.t("login.missing"), email, target)
    address = deps.client_address(ctx.request)
    try:
        token, _user = auth.login(ctx.workspace, email, password, address, code)
        _actor, csrf = auth.actor_from_session(ctx.workspace, token)
    except TotpRequired:
        # The password was right; ask again with the code field shown.
        return _login_form(ctx, 401, ctx.t("login.totp_needed"), email, target, totp=True)
    except Unauthenticated:
        return _login_form(ctx, 401, ctx.t("login.wrong"), email, target, totp=code is not None)
    except RateLimited as exc:
        response = _login_form(ctx, 429, ctx.t("err.rate_limited"), email, target)
        response.headers["Retry-After"] = str(exc.retry_after)
        return response
    response = _redirect(target)
    settings = deps.instance(ctx.request).settings
    max_age = settings.session_days * 86400
    response.set_cookie(
        deps.SESSION_COOKIE,
        token,
        httponly=True,
        samesite="lax",
        secure=settings.secure_cookies,
        max_age=max_age,
        path="/",
    )
    response.set_cookie(
        deps.CSRF_COOKIE,
        csrf,
        httponly=False,
        samesite="lax",
        secure=settings.secure_cookies,
        max_age=max_age,
        path="/",
    )
    return response


def logout_submit(ctx: Ctx) -> Response:
    """End the session and go back to the login page."""
    assert ctx.workspace is not None
    auth.logout(ctx.workspace, ctx.request.cookies.get(deps.SESSION_COOKIE, ""))
    response = _redirect(f"{ctx.base}/login")
    response.delete_cookie(deps.SESSION_COOKIE, path="/")
    response.delete_cookie(deps.CSRF_COOKIE, path="/")
    return response


# ----- catalogs and records ------------------------------------------------------------
def home_page(ctx: Ctx) -> Response:
    """The catalogs the user may see."""
    assert ctx.actor is not None
    return render(ctx, "home.html", catalogs=list_catalogs(ctx.actor))


def _columns(actor: Actor, catalog: Catalog) -> list[Field]:
    return visible_fields(actor, catalog, None)[:TABLE_COLUMNS]


def _rows_data(ctx: Ctx, catalog_ref: str, cursor: str | None) -> dict[str, Any]:
    assert ctx.actor is not None
    catalog = get_catalog(ctx.actor, catalog_ref)
    page = records.list_records(ctx.actor, catalog.id, limit=PAGE_SIZE, cursor=cursor or None)
    return {
        "catalog": catalog,
        "columns": _columns(ctx.actor, catalog),
        "items": page["items"],
        "next_cursor": page["next_cursor"],
    }


def catalog_page(ctx: Ctx, catalog_ref: str) -> Response:
    """A catalog's first records in a table; more are fetched by htmx with the cursor."""
    data = _rows_data(ctx, catalog_ref, ctx.request.query_params.get("cursor"))
    return render(ctx, "catalog.html", **data)


def rows_fragment(ctx: Ctx, catalog_ref: str) -> Response:
    """The next page of table rows (an htmx fragment)."""
    data = _rows_data(ctx, catalog_ref, ctx.request.query_params.get("cursor"))
    return render(ctx, "_rows.html", **data)


def _history(actor: Actor, catalog: Catalog, record_id: int) -> list[dict[str, Any]]:
    # The card already proved the record visible; a record written without history (an
    # older bulk path) shows an empty history rather than a "not found" page.
    try:
        return records.record_history(actor, catalog.id, record_id)
    except NotFound:
        return []


def _card_data(ctx: Ctx, catalog_ref: str, record_id: int) -> dict[str, Any]:
    assert ctx.actor is not None
    catalog = get_catalog(ctx.actor, catalog_ref)
    record = records.get_record(ctx.actor, catalog.id, record_id)
    return {
        "catalog": catalog,
        "record": record,
        "fields": visible_fields(ctx.actor, catalog, None),
        "history": _history(ctx.actor, catalog, record_id),
        "comments": comments.list_comments(ctx.actor, catalog.id, record_id),
        "comment_error": None,
        "comment_text": "",
        "saved": ctx.request.query_params.get("saved") == "1",
        "can_edit": records.may_edit(ctx.actor, catalog, record_id),
    }


def record_page(ctx: Ctx, catalog_ref: str, record_text: str) -> Response:
    """A record card: values, comments and history."""
    return render(ctx, "record.html", **_card_data(ctx, catalog_ref, _record_id(record_text)))


def comment_submit(ctx: Ctx, catalog_ref: str, record_text: str, form: FormData) -> Response:
    """Add a comment, then show the card again."""
    assert ctx.actor is not None
    record_id = _record_id(record_text)
    text = form.get("text")
    try:
        comments.add_comment(ctx.actor, catalog_ref, record_id, {"text": text})
    except ValidationFailed as exc:
        data = _card_data(ctx, catalog_ref, record_id)
        message = i18n.field_message(exc.fields.get("text", exc.message), ctx.lang)
        data.update(comment_error=message, comment_text=text if isinstance(text, str) else "")
        return render(ctx, "record.html", status=422, **data)
    return _redirect(f"{ctx.base}/c/{quote(catalog_ref, safe='')}/r/{record_id}#comments")


# ----- notices (administrators) ----------------------------------------------------------
def _notice_text(ctx: Ctx, notice: dict[str, Any]) -> tuple[str, str]:
    """Title and message in the reader's language (known kinds), else as stored."""
    key = "notice." + notice["kind"]
    data = {k: v for k, v in (notice.get("data") or {}).items() if isinstance(k, str)}
    title, message = ctx.t(key + ".title"), ctx.t(key + ".message")
    if title == key + ".title" or message == key + ".message":
        return notice["title"], notice["message"]
    try:
        return title.format(**data), message.format(**data)
    except (KeyError, IndexError, ValueError):
        return notice["title"], notice["message"]


def notices_page(ctx: Ctx) -> Response:
    """Notices for administrators (e.g. a webhook switched off after failing for days)."""
    assert ctx.actor is not None
    unread_only = ctx.request.query_params.get("unread") == "1"
    page = notices.list_notices(ctx.actor, unread=unread_only, limit=100)
    items = [{**n, "text": _notice_text(ctx, n)} for n in page["items"]]
    return render(ctx, "notices.html", items=items, unread_only=unread_only)


def notices_read_submit(ctx: Ctx, form: FormData) -> Response:
    """Mark one notice (form field `id`) or all of them read."""
    assert ctx.actor is not None
    target = form.get("id")
    if isinstance(target, str) and target.isdigit() and len(target) < 19:
        notices.mark_read(ctx.actor, int(target))
    else:
        notices.mark_all_read(ctx.actor)
    return _redirect(f"{ctx.base}/notices")


# ----- the edit form -------------------------------------------------------------------
def _edit_view(
    ctx: Ctx,
    catalog: Catalog,
    record: dict[str, Any],
    inputs: dict[str, Any],
    errors: dict[str, str],
    status: int = 200,
    general: str | None = None,
) -> Response:
    assert ctx.actor is not None
    fields = forms.editable_fields(ctx.actor, catalog)
    return render(
        ctx,
        "edit.html",
        status=status,
        catalog=catalog,
        record=record,
        fields=fields,
        inputs=inputs,
        errors=errors,
        general_error=general,
    )


def edit_page(ctx: Ctx, catalog_ref: str, record_text: str) -> Response:
    """The edit form filled with the record's current values."""
    assert ctx.actor is not None
    catalog = get_catalog(ctx.actor, catalog_ref)
    record = records.get_record(ctx.actor, catalog.id, _record_id(record_text))
    if not records.may_edit(ctx.actor, catalog, record["id"]):
        return error_page(ctx, 403, ctx.t("err.forbidden"))
    inputs = {
        f.api_name: forms.form_value(f, record["values"].get(f.api_name))
        for f in forms.editable_fields(ctx.actor, catalog)
    }
    return _edit_view(ctx, catalog, record, inputs, {})


def edit_submit(ctx: Ctx, catalog_ref: str, record_text: str, form: FormData) -> Response:
    """Save the form through the records service; show per-field errors when invalid."""
    assert ctx.actor is not None
    catalog = get_catalog(ctx.actor, catalog_ref)
    record_id = _record_id(record_text)
    record = records.get_record(ctx.actor, catalog.id, record_id)
    values = forms.submitted_values(forms.editable_fields(ctx.actor, catalog), form)
    try:
        records.update_record(ctx.actor, catalog.id, record_id, values)
    except ValidationFailed as exc:
        errors = {k: i18n.field_message(v, ctx.lang) for k, v in exc.fields.items()}
        known = {f.api_name for f in catalog.fields}
        general = None if set(errors) <= known else i18n.field_message(exc.message, ctx.lang)
        return _edit_view(ctx, catalog, record, values, errors, 422, general)
    except DomainError as exc:
        # A request webhook's veto or a field rule: the form stays, with the reason.
        status, _code = status_and_code(exc)
        return _edit_view(ctx, catalog, record, values, {}, status, exc.message)
    return _redirect(f"{ctx.base}/c/{quote(catalog_ref, safe='')}/r/{record_id}?saved=1")


# ----- routes --------------------------------------------------------------------------
def page_router() -> APIRouter:
    """Every UI route, without the workspace prefix."""
    router = APIRouter(include_in_schema=False)

    @router.get("/login")
    def get_login(request: Request) -> Response:
        return _guard(request, login_page, public=True)

    @router.post("/login")
    async def post_login(request: Request) -> Response:
        form = await _form(request)
        return await run_in_threadpool(_guard, request, lambda c: login_submit(c, form), None, True)

    @router.post("/logout")
    async def post_logout(request: Request) -> Response:
        form = await _form(request)
        return await run_in_threadpool(_guard, request, logout_submit, form)

    @router.get("/")
    def get_home(request: Request) -> Response:
        return _guard(request, home_page)

    @router.get("/notices")
    def get_notices(request: Request) -> Response:
        return _guard(request, notices_page)

    @router.post("/notices/read")
    async def post_notices_read(request: Request) -> Response:
        form = await _form(request)
        return await run_in_threadpool(
            _guard, request, lambda c: notices_read_submit(c, form), form
        )

    @router.get("/c/{catalog}")
    def get_catalog_page(request: Request, catalog: str) -> Response:
        return _guard(request, lambda c: catalog_page(c, catalog))

    @router.get("/c/{catalog}/rows")
    def get_rows(request: Request, catalog: str) -> Response:
        return _guard(request, lambda c: rows_fragment(c, catalog))

    @router.get("/c/{catalog}/r/{record}")
    def get_record_page(request: Request, catalog: str, record: str) -> Response:
        return _guard(request, lambda c: record_page(c, catalog, record))

    @router.post("/c/{catalog}/r/{record}/comments")
    async def post_comment(request: Request, catalog: str, record: str) -> Response:
        form = await _form(request)
        return await run_in_threadpool(
            _guard, request, lambda c: comment_submit(c, catalog, record, form), form
        )

    @router.get("/c/{catalog}/r/{record}/edit")
    def get_edit(request: Request, catalog: str, record: str) -> Response:
        return _guard(request, lambda c: edit_page(c, catalog, record))

    @router.post("/c/{catalog}/r/{record}/edit")
    async def post_edit(request: Request, catalog: str, record: str) -> Response:
        form = await _form(request)
        return await run_in_threadpool(
            _guard, request, lambda c: edit_submit(c, catalog, record, form), form
        )

    return router


def _htmx() -> Response:
    if not HTMX_FILE.is_file():
        # The asset comes from npm (`npm ci`); without it pages still work, minus "load more".
        return Response(
            "htmx is not installed: run npm ci", status_code=404, media_type="text/plain"
        )
    return FileResponse(
        HTMX_FILE, media_type="text/javascript", headers={"Cache-Control": "public, max-age=3600"}
    )


def mount(app: FastAPI) -> None:
    """Add the UI pages (at / and /w/{workspace}/) and the static files to the app."""
    app.add_api_route("/static/vendor/htmx.min.js", _htmx, include_in_schema=False)
    router = page_router()
    app.include_router(router)
    app.include_router(router, prefix="/w/{workspace}")
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
