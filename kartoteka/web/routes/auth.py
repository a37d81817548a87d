"""Signing in and out: the login form sets the same cookies as POST /api/v1/auth/login."""

from __future__ import annotations

from typing import Any

from fastapi.responses import Response
from starlette.routing import Route

from kartoteka import edge
from kartoteka.auth import service as auth
from kartoteka.errors import Forbidden, RateLimited, TotpRequired, Unauthenticated, problem
from kartoteka.security import csrf as login_csrf

from ..i18n import _
from ..pages import Ctx, page, public_page, redirect, render


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


def _login_form(
    ctx: Ctx, status: int, error: str | None, email: str, target: str, *, totp: bool = False
) -> Response:
    return render(
        ctx, "auth/login.html", status=status, error=error, email=email, next=target, totp=totp
    )


@public_page
def login_page(ctx: Ctx) -> Response:
    """The sign-in form."""
    return _login_form(ctx, 200, None, "", _safe_next(ctx, ctx.request.query_params.get("next")))


@public_page
def login_submit(ctx: Ctx) -> Response:
    """Check the credentials; set the same cookies as POST /api/v1/auth/login."""
    if login_csrf.cross_site_login(ctx.request.headers):
        raise Forbidden(errors=[problem("csrf_login")], csrf=True)
    email, password = ctx.field("email"), ctx.field("password")
    code = ctx.field("totp").strip() or None
    target = _safe_next(ctx, ctx.field("next"))
    if not email.strip() or not password:
        return _login_form(ctx, 422, _("Enter your e-mail and password."), email, target)
    address = edge.client_address(ctx.request)
    try:
        token, _user = auth.login(ctx.ws, email, password, address, code)
        _actor, csrf = auth.actor_from_session(ctx.ws, token)
    except TotpRequired:
        # The password was right; ask again with the code field shown.
        message = _(
            "This account uses two-factor login: enter the password again and the "
            "one-time code from your app."
        )
        return _login_form(ctx, 401, message, email, target, totp=True)
    except Unauthenticated:
        message = _("Wrong e-mail or password.")
        return _login_form(ctx, 401, message, email, target, totp=code is not None)
    except RateLimited as exc:
        message = _("Too many attempts. Wait a little and try again.")
        response = _login_form(ctx, 429, message, email, target)
        response.headers["Retry-After"] = str(exc.retry_after)
        return response
    return _signed_in(ctx, redirect(target), token, csrf)


def _signed_in(ctx: Ctx, response: Response, token: str, csrf: str) -> Response:
    """Set the session and CSRF cookies of this workspace."""
    edge.set_session_cookies(ctx.request, response, token, csrf)
    return response


@page
def logout_submit(ctx: Ctx) -> Response:
    """End the session and go back to the login page."""
    auth.logout(ctx.ws, edge.cookie(ctx.request, edge.SESSION_COOKIE) or "")
    response = redirect(f"{ctx.base}/login")
    edge.clear_session_cookies(ctx.request, response)
    return response


routes = [
    Route("/login", login_page, methods=["GET"]),
    Route("/login", login_submit, methods=["POST"]),
    Route("/logout", logout_submit, methods=["POST"]),
]
