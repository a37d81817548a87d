"""A user's own account: name, language, password, API tokens, two-factor login; and the
one-time link page where an invited user (or one whose password was reset) sets a password.

The services are the API's (`users`, `auth.tokens`, `security.totp`); a token's secret
and a new two-factor secret are shown on the page that made them, never again.
"""

from __future__ import annotations

import io
from datetime import datetime, time
from typing import Any

import segno
from fastapi.responses import Response
from markupsafe import Markup
from starlette.routing import Route

from kartoteka.auth import tokens
from kartoteka.catalogs.service import list_catalogs
from kartoteka.errors import DomainError, Forbidden, problem
from kartoteka.security import csrf as login_csrf
from kartoteka.security import totp
from kartoteka.users import invitations
from kartoteka.users import service as users

from ..feedback import form_errors
from ..i18n import _
from ..pages import Ctx, page, public_page, redirect, render


def qr_svg(text: str, title: str) -> Markup:
    """`text` as a QR code in inline SVG (drawn here: no image request, nothing external)."""
    out = io.BytesIO()
    segno.make(text, error="m").save(
        out, kind="svg", scale=5, border=2, xmldecl=False, svgns=True, title=title
    )
    svg = out.getvalue().decode()
    # The title names the image for screen readers; role=img makes them read it.
    return Markup(svg.replace("<svg ", '<svg role="img" ', 1))


def _account(ctx: Ctx, status: int = 200, **extra: Any) -> Response:
    me = users.get_user(ctx.user, ctx.user.user_id or 0)
    data: dict[str, Any] = {
        "me": me,
        "values": me,
        "tokens": tokens.list_tokens(ctx.user),
        "catalogs": [c for c in list_catalogs(ctx.user) if c.system is None],
        "totp_on": totp.enabled_secret(ctx.ws, ctx.user.user_id or 0) is not None,
        "totp_setup": None,
        "new_token": None,
        "token_values": {},
        "errors": {},
        "general_error": None,
        "saved": ctx.request.query_params.get("saved") or "",
    }
    data.update(extra)
    return render(ctx, "people/account.html", status=status, **data)


@page
def account_page(ctx: Ctx) -> Response:
    """The signed-in user's own account."""
    return _account(ctx)


@page
def account_submit(ctx: Ctx) -> Response:
    """Save one's own name and language."""
    patch = {"name": ctx.field("name"), "lang": ctx.field("lang") or None}
    try:
        users.update_user(ctx.user, ctx.user.user_id or 0, patch)
    except DomainError as exc:
        errors, general = form_errors(exc, ctx.lang)
        return _account(ctx, 422, errors=errors, general_error=general, values=patch)
    return redirect(f"{ctx.base}/account?saved=details")


@page
def password_submit(ctx: Ctx) -> Response:
    """Change one's own password (needs the current one; other sessions and tokens end)."""
    new, again = ctx.field("password"), ctx.field("password2")
    if new != again:
        return _account(ctx, 422, errors={"password2": _("The two passwords differ.")})
    patch = {"password": new, users.CURRENT_PASSWORD: ctx.field("current_password")}
    try:
        users.update_user(ctx.user, ctx.user.user_id or 0, patch)
    except DomainError as exc:
        errors, general = form_errors(exc, ctx.lang)
        return _account(ctx, 422, errors=errors, general_error=general)
    # The change ended every session, this one too: sign in again with the new password.
    return redirect(f"{ctx.base}/login?next={ctx.base}/account")


def _expiry(text: str, ctx: Ctx) -> datetime | str | None:
    """The end of the chosen day in the workspace's zone (the token works through it)."""
    if not text:
        return None
    try:
        day = datetime.strptime(text, "%Y-%m-%d").date()
    except ValueError:
        return text  # the service names the field
    return datetime.combine(day, time(23, 59, 59), tzinfo=ctx.user.timezone)


@page
def token_submit(ctx: Ctx) -> Response:
    """Create an API token; its secret is on this answer only."""
    assert ctx.form is not None
    chosen = [int(v) for v in ctx.form.getlist("catalogs") if isinstance(v, str) and v.isdigit()]
    scopes: dict[str, Any] = {}
    if ctx.field("read_only") == "1":
        scopes["read_only"] = True
    if chosen:
        scopes["catalogs"] = chosen
    name, expires = ctx.field("name"), ctx.field("expires")
    values = {
        "name": name,
        "expires": expires,
        "read_only": "read_only" in scopes,
        "catalogs": chosen,
    }
    try:
        made = tokens.create_api_token(ctx.user, name, scopes or None, _expiry(expires, ctx))
    except DomainError as exc:
        errors, general = form_errors(exc, ctx.lang)
        errors = {("token_" + k): v for k, v in errors.items()}
        return _account(ctx, 422, errors=errors, general_error=general, token_values=values)
    return _account(ctx, 201, new_token=made)


@page
def token_revoke_submit(ctx: Ctx, token: str) -> Response:
    """Revoke one of one's own tokens."""
    if token.isdigit() and len(token) < 19:
        tokens.revoke_token(ctx.user, int(token))
    return redirect(f"{ctx.base}/account?saved=token")


@page
def totp_setup_submit(ctx: Ctx) -> Response:
    """Start two-factor setup: a new secret, shown as a QR code to scan, not on until confirmed."""
    started = totp.setup(ctx.user)
    shown = {**started, "qr": qr_svg(started["uri"], _("QR code for your authenticator app"))}
    return _account(ctx, totp_setup=shown)


@page
def totp_enable_submit(ctx: Ctx) -> Response:
    """Turn two-factor login on with a code from the app that scanned the QR code."""
    try:
        totp.enable(ctx.user, ctx.field("code"))
    except DomainError as exc:
        errors, general = form_errors(exc, ctx.lang)
        if "code" in errors:
            errors["code"] = _("Wrong or expired code: type the 6 digits the app shows now.")
        pending = totp.pending_uri(ctx.user)
        shown = (
            {**pending, "qr": qr_svg(pending["uri"], _("QR code for your authenticator app"))}
            if pending
            else None
        )
        return _account(ctx, 422, errors=errors, general_error=general, totp_setup=shown)
    return redirect(f"{ctx.base}/account?saved=totp_on")


@page
def totp_disable_submit(ctx: Ctx) -> Response:
    """Turn two-factor login off (needs a current code)."""
    try:
        totp.disable(ctx.user, ctx.field("code"))
    except DomainError as exc:
        errors, general = form_errors(exc, ctx.lang)
        if "code" in errors:
            errors["off_code"] = _("Wrong or expired code: type the 6 digits the app shows now.")
            errors.pop("code")
        return _account(ctx, 422, errors=errors, general_error=general)
    return redirect(f"{ctx.base}/account?saved=totp_off")


# ----- one-time links (public) ---------------------------------------------------------
def _link_form(ctx: Ctx, token: str, status: int = 200, **extra: Any) -> Response:
    try:
        found = invitations.peek_link(ctx.ws, token)
    except DomainError:
        return render(
            ctx, "people/link.html", status=404, found=None, errors={}, token="", done=False
        )
    data = {"found": found, "errors": {}, "token": token, "done": False, **extra}
    return render(ctx, "people/link.html", status=status, **data)


@public_page
def link_page(ctx: Ctx, token: str) -> Response:
    """Choose a password through an invitation or reset link."""
    return _link_form(ctx, token)


@public_page
def link_submit(ctx: Ctx, token: str) -> Response:
    """Set the password and use the link up; then sign in."""
    if login_csrf.cross_site_login(ctx.request.headers):
        raise Forbidden(errors=[problem("csrf_password")], csrf=True)
    password = ctx.field("password")
    if password != ctx.field("password2"):
        return _link_form(ctx, token, 422, errors={"password2": _("The two passwords differ.")})
    try:
        found = invitations.redeem_link(ctx.ws, token, password)
    except invitations.LinkInvalid:
        return _link_form(ctx, token)
    except DomainError as exc:
        errors, _general = form_errors(exc, ctx.lang)
        return _link_form(ctx, token, 422, errors=errors)
    return render(ctx, "people/link.html", found=found, errors={}, token="", done=True)


routes = [
    Route("/account", account_page, methods=["GET"]),
    Route("/account", account_submit, methods=["POST"]),
    Route("/account/password", password_submit, methods=["POST"]),
    Route("/account/tokens", token_submit, methods=["POST"]),
    Route("/account/tokens/{token}/revoke", token_revoke_submit, methods=["POST"]),
    Route("/account/totp/setup", totp_setup_submit, methods=["POST"]),
    Route("/account/totp/enable", totp_enable_submit, methods=["POST"]),
    Route("/account/totp/disable", totp_disable_submit, methods=["POST"]),
    Route("/link/{token}", link_page, methods=["GET"]),
    Route("/link/{token}", link_submit, methods=["POST"]),
]
