"""What every page shares: the request context, rendering, and the page decorators.

A handler is a plain function `handler(ctx, **path_params) -> Response`, decorated with
`@page` (signed-in page; form POSTs must carry the session's CSRF token) or
`@public_page` (the login form). The decorator reads the form, runs the handler in the
thread pool (the services are blocking), resolves the workspace and the session, sets the
language, and turns domain errors into an HTML error page, so the UI never answers 500
for bad input.
"""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import quote

from babel.dates import format_date
from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData

from kartoteka import edge
from kartoteka.auth import service as auth
from kartoteka.catalogs.layout import ICONS
from kartoteka.catalogs.models import Catalog
from kartoteka.catalogs.service import list_catalogs
from kartoteka.context import Actor, Workspace
from kartoteka.duplicates.rules import readable_rules
from kartoteka.edge import status_and_code
from kartoteka.errors import DomainError, Forbidden, NotFound, RateLimited, Unauthenticated
from kartoteka.notices import service as notices

from . import admin_nav, assets, exports, forms, i18n, switcher, widgets
from .i18n import N_, _

HERE = Path(__file__).parent
SECURITY_HEADERS = {
    "Cache-Control": "no-store",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data: blob:; "
    "media-src 'self' blob:; frame-ancestors 'none'; form-action 'self'; base-uri 'self'",
}


CSRF_EXPIRED = N_("The form has expired or came from another site. Reload the page and try again.")


@dataclass
class Ctx:
    """One request as the pages see it: where, who, in which language, what was posted."""

    request: Request
    base: str
    lang: str
    workspace: Workspace | None = None
    actor: Actor | None = None
    csrf: str = ""
    form: FormData | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def user(self) -> Actor:
        """The signed-in actor (pages behind `@page` always have one)."""
        assert self.actor is not None
        return self.actor

    @property
    def ws(self) -> Workspace:
        """The workspace of the request."""
        assert self.workspace is not None
        return self.workspace

    def field(self, name: str) -> str:
        """A posted form field as text ('' when absent or a file)."""
        value = self.form.get(name) if self.form is not None else None
        return value if isinstance(value, str) else ""


# ----- rendering -----------------------------------------------------------------------
def _raw_gettext(message: str) -> str:
    return i18n.translations(i18n.current_lang.get()).ugettext(message)


def _raw_ngettext(singular: str, plural: str, num: int) -> str:
    return i18n.translations(i18n.current_lang.get()).ungettext(singular, plural, num)


def _raw_pgettext(context: str, message: str) -> str:
    return i18n.translations(i18n.current_lang.get()).upgettext(context, message)


def _raw_npgettext(context: str, singular: str, plural: str, num: int) -> str:
    return i18n.translations(i18n.current_lang.get()).unpgettext(context, singular, plural, num)


@cache
def templates() -> Environment:
    """The Jinja2 environment (built once, on first use) with gettext installed."""
    env = Environment(
        loader=FileSystemLoader(HERE / "templates"),
        autoescape=select_autoescape(["html"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        extensions=["jinja2.ext.i18n"],
    )
    env.install_gettext_callables(  # type: ignore[attr-defined]
        _raw_gettext,
        _raw_ngettext,
        newstyle=True,
        pgettext=_raw_pgettext,
        npgettext=_raw_npgettext,
    )
    env.globals["value_text"] = forms.value_text
    env.globals["editor_template"] = forms.editor_template
    env.globals["asset"] = assets.url
    env.globals["export_links"] = exports.links
    env.globals["duplicate_rules"] = readable_rules
    env.globals["preloads"] = assets.preloads
    env.globals["language_names"] = i18n.LANGUAGE_NAMES
    env.globals["catalog_icons"] = ICONS
    return env


def render(ctx: Ctx, name: str, status: int = 200, **data: Any) -> HTMLResponse:
    """A page from a template, with the security headers and the language cookie."""
    tz = ctx.actor.timezone if ctx.actor else UTC
    i18n.current_lang.set(ctx.lang)
    html = (
        templates()
        .get_template(name)
        .render(
            lang=ctx.lang,
            base=ctx.base,
            actor=ctx.actor,
            csrf=ctx.csrf,
            path=ctx.request.url.path,
            languages=i18n.LANGUAGES,
            when=lambda value: forms.when_text(value, tz),
            notices_unread=_unread_notices(ctx),
            sections=_sidebar(ctx),
            workspaces=switcher.workspaces_of(edge.instance(ctx.request), ctx.actor),
            admin_sections=_admin_sections(ctx),
            workspace_title=_workspace_title(ctx),
            ui_config=_ui_config(ctx),
            month_name=lambda d: format_date(d, "LLLL y", locale=ctx.lang),
            weekday_name=lambda d: format_date(d, "EEE", locale=ctx.lang),
            **data,
        )
    )
    response = HTMLResponse(html, status_code=status, headers=SECURITY_HEADERS)
    _remember_lang(ctx.request, response)
    return response


def _unread_notices(ctx: Ctx) -> int:
    """The signed-in user's unread notices (the top bar's bell shows the count)."""
    if ctx.actor is None:
        return 0
    try:
        return notices.unread_count(ctx.actor)
    except DomainError:
        return 0


def _workspace_title(ctx: Ctx) -> str:
    """The workspace's display name (setting `title`), '' when none was given."""
    if ctx.workspace is None:
        return ""
    title = ctx.workspace.meta().settings.get("title")
    return title if isinstance(title, str) else ""


def _admin_sections(ctx: Ctx) -> tuple[admin_nav.Section, ...]:
    """The administration sections whose pages exist (none for other users)."""
    if ctx.actor is None or not ctx.actor.is_admin:
        return ()
    router = ctx.request.app.router
    return admin_nav.served(router.routes, id(router))


def require_admin(ctx: Ctx) -> None:
    """Administration pages are for administrators only (others get "forbidden")."""
    if not ctx.user.is_admin:
        raise Forbidden.of("admin_pages_only")


def _ui_config(ctx: Ctx) -> Any:
    """Strings, message translations and the time zone for the page's scripts."""
    if ctx.actor is None:
        return ""
    return widgets.data_block(
        {
            "strings": widgets.script_strings(),
            "codes": {
                "FORBIDDEN": _("You are not allowed to do this."),
                "NOT_FOUND": _("Not found, or you have no access to it."),
                "RATE_LIMITED": _("Too many attempts. Wait a little and try again."),
                "CSRF": _(CSRF_EXPIRED),
                "TOO_LARGE": _("The file or request is too large."),
                "UNAUTHENTICATED": _("Your session has ended. Sign in again."),
            },
            "timezone": str(ctx.actor.timezone),
        }
    )


def _sidebar(ctx: Ctx) -> list[tuple[str, list[Catalog]]]:
    """The catalogs the user may see, grouped into the sidebar's sections."""
    if ctx.actor is None:
        return []
    groups: dict[str, list[Catalog]] = {}
    for catalog in list_catalogs(ctx.actor):
        if catalog.system is not None:
            # System catalogs (webhooks) are managed on their own Administration screens.
            continue
        named = catalog.options.get("section")
        section = named if isinstance(named, str) and named.strip() else _("Catalogs")
        groups.setdefault(section, []).append(catalog)
    return list(groups.items())


def _remember_lang(request: Request, response: Response) -> None:
    chosen = i18n.normalise(request.query_params.get("lang"))
    if chosen and chosen != request.cookies.get(i18n.LANG_COOKIE):
        response.set_cookie(
            i18n.LANG_COOKIE,
            chosen,
            max_age=365 * 86400,
            samesite="lax",
            path="/",
            secure=secure_cookies(request),
        )


def secure_cookies(request: Request) -> bool:
    """Whether cookies get the Secure flag (the instance's setting)."""
    return bool(edge.instance(request).settings.secure_cookies)


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


# ----- the page decorators -------------------------------------------------------------
Handler = Callable[..., Response]
Endpoint = Callable[[Request], Awaitable[Response]]


def page(handler: Handler) -> Endpoint:
    """A page for signed-in users; a POST must carry the session's CSRF token."""
    return _endpoint(handler, public=False)


def public_page(handler: Handler) -> Endpoint:
    """A page anyone may open (the login form)."""
    return _endpoint(handler, public=True)


def upload_page(handler: Handler) -> Endpoint:
    """A `@page` whose form may carry one file (`ctx.form`; e.g. a backup to restore)."""
    return _endpoint(handler, public=False, files=1)


def _endpoint(handler: Handler, public: bool, files: int = 0) -> Endpoint:
    async def endpoint(request: Request) -> Response:
        form = await read_form(request, files) if request.method == "POST" else None
        try:
            return await run_in_threadpool(_guard, request, handler, form, public)
        finally:
            if form is not None:
                await form.close()  # an uploaded file's temporary copy

    endpoint.__name__ = handler.__name__
    endpoint.__doc__ = handler.__doc__
    return endpoint


async def read_form(request: Request, files: int = 0) -> FormData:
    """A posted form (no files unless the page takes some; records' uploads go through
    the API)."""
    return await request.form(max_files=files, max_fields=1000)


def _guard(request: Request, handler: Handler, form: FormData | None, public: bool) -> Response:
    """Resolve workspace and session, check CSRF on forms, render domain errors as pages."""
    ctx = Ctx(request=request, base=_base(request), lang=_lang(request), form=form)
    i18n.current_lang.set(ctx.lang)
    params = {k: v for k, v in request.path_params.items() if k != "workspace"}
    try:
        ctx.workspace = edge.workspace(request)
        if not public:
            signed_in = _sign_in(ctx)
            if signed_in is not None:
                return signed_in
            if form is not None and not _csrf_ok(ctx, form):
                return error_page(ctx, 403, _(CSRF_EXPIRED))
        return handler(ctx, **params)
    except DomainError as exc:
        return _domain_error(ctx, exc)


def _sign_in(ctx: Ctx) -> Response | None:
    """Fill ctx.actor from the session cookie, or answer with a way to the login page."""
    token = edge.cookie(ctx.request, edge.SESSION_COOKIE)
    if token:
        try:
            ctx.actor, ctx.csrf = auth.actor_from_session(ctx.ws, token)
        except Unauthenticated:
            ctx.actor = None
    if ctx.actor is None:
        return to_login(ctx)
    ctx.lang = _lang(ctx.request, ctx.actor)
    i18n.current_lang.set(ctx.lang)
    return None


def _csrf_ok(ctx: Ctx, form: FormData) -> bool:
    sent = form.get("csrf")
    return isinstance(sent, str) and bool(sent) and hmac.compare_digest(sent, ctx.csrf)


def to_login(ctx: Ctx) -> Response:
    """Send a signed-out visitor to the login form, coming back here afterwards."""
    target = f"{ctx.base}/login?next={quote(ctx.request.url.path, safe='/')}"
    if ctx.request.headers.get("hx-request"):
        # htmx would swap a followed redirect into the table; ask it to navigate instead.
        return Response(status_code=200, headers={"HX-Redirect": target})
    return RedirectResponse(target, status_code=303)


def _domain_error(ctx: Ctx, exc: DomainError) -> Response:
    status, code = status_and_code(exc)
    if isinstance(exc, Unauthenticated) and ctx.workspace is not None:
        return to_login(ctx)
    known = {
        "NOT_FOUND": _("Not found, or you have no access to it."),
        "FORBIDDEN": _("You are not allowed to do this."),
        "RATE_LIMITED": _("Too many attempts. Wait a little and try again."),
    }
    response = error_page(ctx, status, known.get(code) or exc.text(ctx.lang))
    if isinstance(exc, RateLimited):
        response.headers["Retry-After"] = str(exc.retry_after)
    return response


def error_page(ctx: Ctx, status: int, message: str) -> HTMLResponse:
    """The error page (status and a message in the reader's language)."""
    return render(ctx, "layout/error.html", status=status, status_code=status, message=message)


def redirect(url: str) -> RedirectResponse:
    """A 303 to another page (after a successful POST)."""
    return RedirectResponse(url, status_code=303, headers={"Cache-Control": "no-store"})


def record_id(text: str) -> int:
    """A record id from the URL; anything else is "not found"."""
    if not text.isdigit() or len(text) > 18:
        raise NotFound.of("record_not_found", None, id=text)
    return int(text)


def catalog_url(ctx: Ctx, catalog_ref: str) -> str:
    """The URL of a catalog's page."""
    return f"{ctx.base}/c/{quote(catalog_ref, safe='')}"
