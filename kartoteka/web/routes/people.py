"""Users and groups for administrators: find, invite, edit, deactivate, reset, groups.

Every change goes through `kartoteka.users` (the same service as `/api/v1/users`); a
refused change shows the form again with each message next to its input. An
invitation or a password reset is a one-time link the administrator copies (and, where
the workspace has SMTP settings, it is e-mailed too). Users' own page is `account.py`.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi.responses import Response
from starlette.routing import Route

from kartoteka.auth import tokens
from kartoteka.errors import DomainError, NotFound
from kartoteka.security import totp
from kartoteka.users import directory, invitations
from kartoteka.users import service as users

from ..feedback import form_errors
from ..i18n import _
from ..pages import Ctx, page, redirect, render, require_admin

PAGE_SIZE = 25
#: Profile rows the form offers beyond those the user has (more after saving).
EMPTY_PROFILE_ROWS = 2


def _number(text: str, default: int = 0) -> int:
    return int(text) if text.isdigit() and len(text) < 10 else default


def user_id_of(text: str) -> int:
    """A user or group id from the URL; anything else is "not found"."""
    if not text.isdigit() or len(text) > 18:
        raise NotFound.of("page_item_not_found", None, ref=text)
    return int(text)


# ----- the list ------------------------------------------------------------------------
@page
def users_page(ctx: Ctx) -> Response:
    """Users page by page, found by name or e-mail, optionally one group's members."""
    require_admin(ctx)
    params = ctx.request.query_params
    search = (params.get("q") or "").strip()
    group = params.get("group") or ""
    group_id = _number(group) if group.isdigit() else None
    page_no = max(1, _number(params.get("page") or "1", 1))
    found = directory.find_users(
        ctx.user, search, (page_no - 1) * PAGE_SIZE, PAGE_SIZE, group_id=group_id
    )
    pages = max(1, -(-found["total"] // PAGE_SIZE))

    def page_url(n: int) -> str:
        query = {k: v for k, v in (("q", search), ("group", group), ("page", str(n))) if v}
        return f"{ctx.base}/admin/users?{urlencode(query)}"

    groups = users.list_groups(ctx.user)
    return render(
        ctx,
        "people/users.html",
        found=found,
        search=search,
        group_id=group_id,
        groups=groups,
        group_names={g["id"]: g["name"] for g in groups},
        page_no=page_no,
        pages=pages,
        prev_url=page_url(page_no - 1) if page_no > 1 else None,
        next_url=page_url(page_no + 1) if page_no < pages else None,
    )


# ----- creating ------------------------------------------------------------------------
def _new_form(ctx: Ctx, status: int = 200, **data: Any) -> Response:
    values = data.pop("values", {"how": "invite"})
    return render(
        ctx,
        "people/user_new.html",
        status=status,
        values=values,
        groups=users.list_groups(ctx.user),
        errors=data.pop("errors", {}),
        general_error=data.pop("general_error", None),
    )


@page
def new_user_page(ctx: Ctx) -> Response:
    """The form for a new user: invite by link, or set a password now."""
    require_admin(ctx)
    return _new_form(ctx)


def _groups_posted(ctx: Ctx) -> list[int]:
    assert ctx.form is not None
    return sorted(
        {int(v) for v in ctx.form.getlist("groups") if isinstance(v, str) and v.isdigit()}
    )


@page
def new_user_submit(ctx: Ctx) -> Response:
    """Create the user; an invitation shows its one-time link on the user's page."""
    require_admin(ctx)
    how = ctx.field("how") if ctx.field("how") in ("invite", "password") else "invite"
    spec: dict[str, Any] = {
        "email": ctx.field("email"),
        "name": ctx.field("name"),
        "is_admin": ctx.field("is_admin") == "1",
        "groups": _groups_posted(ctx),
    }
    if how == "password":
        spec["password"] = ctx.field("password")
    values = {**spec, "how": how}
    try:
        if how == "password" and not spec["password"]:
            return _new_form(ctx, 422, values=values, errors={"password": _("required")})
        created = users.create_user(ctx.user, spec)
    except DomainError as exc:
        errors, general = form_errors(exc, ctx.lang)
        return _new_form(ctx, 422, values=values, errors=errors, general_error=general)
    if how == "invite":
        return _with_link(ctx, created["id"], "invite", status=201)
    return redirect(f"{ctx.base}/admin/users/{created['id']}?saved=1")


# ----- one user ------------------------------------------------------------------------
def _profile_rows(profile: dict[str, Any]) -> list[tuple[str, str]]:
    rows = [(k, "" if v is None else str(v)) for k, v in sorted(profile.items())]
    return rows + [("", "")] * EMPTY_PROFILE_ROWS


def _user_page(ctx: Ctx, user_id: int, status: int = 200, **extra: Any) -> Response:
    user = users.get_user(ctx.user, user_id)
    if "email" not in user:  # not an administrator: only the brief view came back
        raise NotFound.of("page_not_found")
    data: dict[str, Any] = {
        "u": user,
        "values": user,
        "profile_rows": _profile_rows(user["profile"]),
        "groups": users.list_groups(ctx.user),
        "tokens": tokens.list_user_tokens(ctx.user, user_id),
        "totp_on": totp.enabled_secret(ctx.ws, user_id) is not None,
        "errors": {},
        "general_error": None,
        "link": None,
        "saved": ctx.request.query_params.get("saved") or "",
        "is_self": user_id == ctx.user.user_id,
    }
    data.update(extra)
    return render(ctx, "people/user.html", status=status, **data)


@page
def user_page(ctx: Ctx, user: str) -> Response:
    """A user: details, groups, profile keys, tokens, two-factor, links, deactivation."""
    require_admin(ctx)
    return _user_page(ctx, user_id_of(user))


def _profile_posted(ctx: Ctx) -> tuple[dict[str, Any], dict[str, str]]:
    """The profile rows as a dict; repeated keys are refused next to the row."""
    assert ctx.form is not None
    keys = [k for k in ctx.form.getlist("profile_key") if isinstance(k, str)]
    texts = [v for v in ctx.form.getlist("profile_value") if isinstance(v, str)]
    profile: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for index, (key, text) in enumerate(zip(keys, texts, strict=False)):
        key = key.strip()
        if not key:
            continue
        if key in profile:
            errors[f"profile.{index}"] = _("This key is already above.")
        profile[key] = text.strip()
    return profile, errors


@page
def user_submit(ctx: Ctx, user: str) -> Response:
    """Save name, e-mail, language, administrator flag, groups and profile keys."""
    require_admin(ctx)
    user_id = user_id_of(user)
    profile, errors = _profile_posted(ctx)
    patch: dict[str, Any] = {
        "name": ctx.field("name"),
        "email": ctx.field("email"),
        "lang": ctx.field("lang") or None,
        "groups": _groups_posted(ctx),
        "profile": profile,
    }
    if user_id != ctx.user.user_id:  # nobody takes their own administrator rights away here
        patch["is_admin"] = ctx.field("is_admin") == "1"
    values = {**users.get_user(ctx.user, user_id), **patch}
    rows = [(k, str(v)) for k, v in profile.items()] + [("", "")] * EMPTY_PROFILE_ROWS
    if errors:
        return _user_page(ctx, user_id, 422, values=values, errors=errors, profile_rows=rows)
    try:
        users.update_user(ctx.user, user_id, patch)
    except DomainError as exc:
        errors, general = form_errors(exc, ctx.lang)
        return _user_page(
            ctx,
            user_id,
            422,
            values=values,
            errors=errors,
            general_error=general,
            profile_rows=rows,
        )
    return redirect(f"{ctx.base}/admin/users/{user_id}?saved=details")


def _with_link(ctx: Ctx, user_id: int, purpose: str, status: int = 200) -> Response:
    """Make a one-time link, e-mail it where SMTP is set, and show it to copy."""
    link = invitations.issue_link(ctx.user, user_id, purpose)
    url = str(ctx.request.base_url).rstrip("/") + f"{ctx.base}/link/{link['token']}"
    name = link["user"]["name"]
    if purpose == "invite":
        subject = _("You are invited to Kartoteka")
        text = _(
            "Hello, %(name)s!\n\nOpen this link to choose your password and sign in:\n%(url)s\n\n"
            "The link works once, for 7 days.",
            name=name,
            url=url,
        )
    else:
        subject = _("Set a new Kartoteka password")
        text = _(
            "Hello, %(name)s!\n\nOpen this link to set a new password:\n%(url)s\n\n"
            "The link works once, for 24 hours. If you did not ask for it, tell your "
            "administrator.",
            name=name,
            url=url,
        )
    mailed = invitations.mail_link(ctx.user, link["user"]["email"], subject, text)
    shown = {**link, "url": url, "mailed": mailed}
    return _user_page(ctx, user_id, status, link=shown)


@page
def link_submit(ctx: Ctx, user: str) -> Response:
    """A new invitation or password-reset link for the user (earlier links stop working)."""
    require_admin(ctx)
    purpose = "reset" if ctx.field("purpose") == "reset" else "invite"
    try:
        return _with_link(ctx, user_id_of(user), purpose)
    except DomainError as exc:
        _errors, general = form_errors(exc, ctx.lang)
        return _user_page(ctx, user_id_of(user), 422, general_error=general)


@page
def password_submit(ctx: Ctx, user: str) -> Response:
    """Set a user's password now (their sessions and API tokens end)."""
    require_admin(ctx)
    user_id = user_id_of(user)
    password, again = ctx.field("password"), ctx.field("password2")
    if password != again:
        errors = {"password2": _("The two passwords differ.")}
        return _user_page(ctx, user_id, 422, errors=errors)
    try:
        users.update_user(ctx.user, user_id, {"password": password})
    except DomainError as exc:
        errors, general = form_errors(exc, ctx.lang)
        return _user_page(ctx, user_id, 422, errors=errors, general_error=general)
    return redirect(f"{ctx.base}/admin/users/{user_id}?saved=password")


@page
def active_submit(ctx: Ctx, user: str) -> Response:
    """Deactivate (sessions and tokens stop at once) or activate a user."""
    require_admin(ctx)
    user_id = user_id_of(user)
    active = ctx.field("active") == "1"
    try:
        users.update_user(ctx.user, user_id, {"active": active})
    except DomainError as exc:
        _errors, general = form_errors(exc, ctx.lang)
        return _user_page(ctx, user_id, 409, general_error=general)
    return redirect(f"{ctx.base}/admin/users/{user_id}?saved={'active' if active else 'inactive'}")


@page
def delete_submit(ctx: Ctx, user: str) -> Response:
    """Delete a user with their tokens and group memberships."""
    require_admin(ctx)
    user_id = user_id_of(user)
    try:
        users.delete_user(ctx.user, user_id)
    except DomainError as exc:
        _errors, general = form_errors(exc, ctx.lang)
        return _user_page(ctx, user_id, 409, general_error=general)
    return redirect(f"{ctx.base}/admin/users?deleted=1")


@page
def totp_reset_submit(ctx: Ctx, user: str) -> Response:
    """Turn a user's two-factor login off (a lost phone)."""
    require_admin(ctx)
    user_id = user_id_of(user)
    totp.reset(ctx.user, user_id)
    return redirect(f"{ctx.base}/admin/users/{user_id}?saved=totp")


@page
def token_revoke_submit(ctx: Ctx, user: str, token: str) -> Response:
    """Revoke one of the user's API tokens at once."""
    require_admin(ctx)
    user_id = user_id_of(user)
    tokens.revoke_token(ctx.user, user_id_of(token))
    return redirect(f"{ctx.base}/admin/users/{user_id}?saved=token")


# ----- groups --------------------------------------------------------------------------
@page
def groups_page(ctx: Ctx) -> Response:
    """Groups with their member counts, and a form for a new one."""
    require_admin(ctx)
    return _groups(ctx, 200, {}, None, "")


@page
def group_create_submit(ctx: Ctx) -> Response:
    """Create a group, then open it to choose its members."""
    require_admin(ctx)
    name = ctx.field("name")
    try:
        group = users.create_group(ctx.user, {"name": name})
    except DomainError as exc:
        errors, general = form_errors(exc, ctx.lang)
        return _groups(ctx, 422, errors, general, name)
    return redirect(f"{ctx.base}/admin/users/groups/{group['id']}?saved=created")


def _groups(
    ctx: Ctx, status: int, errors: dict[str, str], general: str | None, name: str
) -> Response:
    data = {
        "groups": users.list_groups(ctx.user),
        "counts": directory.group_member_counts(ctx.user),
        "errors": errors,
        "general_error": general,
        "group_name": name,
        "saved": ctx.request.query_params.get("saved") or "",
    }
    return render(ctx, "people/groups.html", status=status, **data)


def _group_page(ctx: Ctx, group_id: int, status: int = 200, **extra: Any) -> Response:
    group = users.get_group(ctx.user, group_id)
    members = directory.find_users(ctx.user, "", 0, directory.MAX_PAGE, group_id=group_id)
    search = (ctx.request.query_params.get("q") or "").strip()
    candidates = directory.find_users(ctx.user, search, 0, 50)
    member_ids = {u["id"] for u in members["items"]}
    data: dict[str, Any] = {
        "group": group,
        "members": members,
        "candidates": [u for u in candidates["items"] if u["id"] not in member_ids],
        "more_candidates": candidates["total"] > len(candidates["items"]),
        "search": search,
        "group_name": group["name"],
        "errors": {},
        "general_error": None,
        "saved": ctx.request.query_params.get("saved") or "",
    }
    data.update(extra)
    return render(ctx, "people/group.html", status=status, **data)


@page
def group_page(ctx: Ctx, group: str) -> Response:
    """A group: its name, its members (add, remove), deleting it."""
    require_admin(ctx)
    return _group_page(ctx, user_id_of(group))


@page
def group_rename_submit(ctx: Ctx, group: str) -> Response:
    """Rename a group."""
    require_admin(ctx)
    group_id = user_id_of(group)
    name = ctx.field("name")
    try:
        users.update_group(ctx.user, group_id, {"name": name})
    except DomainError as exc:
        errors, general = form_errors(exc, ctx.lang)
        return _group_page(
            ctx, group_id, 422, errors=errors, general_error=general, group_name=name
        )
    return redirect(f"{ctx.base}/admin/users/groups/{group_id}?saved=name")


@page
def group_members_submit(ctx: Ctx, group: str) -> Response:
    """Add (`add`) or remove (`remove`) users: the rest of the members stay."""
    require_admin(ctx)
    group_id = user_id_of(group)
    assert ctx.form is not None
    current = directory.find_users(ctx.user, "", 0, directory.MAX_PAGE, group_id=group_id)
    members = {u["id"] for u in current["items"]}
    posted = {int(v) for v in ctx.form.getlist("user") if isinstance(v, str) and v.isdigit()}
    if ctx.field("action") == "remove":
        members -= posted
    else:
        members |= posted
    directory.set_group_members(ctx.user, group_id, sorted(members))
    return redirect(f"{ctx.base}/admin/users/groups/{group_id}?saved=members")


@page
def group_delete_submit(ctx: Ctx, group: str) -> Response:
    """Delete a group: its members lose what it granted at once."""
    require_admin(ctx)
    users.delete_group(ctx.user, user_id_of(group))
    return redirect(f"{ctx.base}/admin/users/groups?saved=deleted")


routes = [
    Route("/admin/users", users_page, methods=["GET"]),
    Route("/admin/users/new", new_user_page, methods=["GET"]),
    Route("/admin/users/new", new_user_submit, methods=["POST"]),
    Route("/admin/users/groups", groups_page, methods=["GET"]),
    Route("/admin/users/groups", group_create_submit, methods=["POST"]),
    Route("/admin/users/groups/{group}", group_page, methods=["GET"]),
    Route("/admin/users/groups/{group}", group_rename_submit, methods=["POST"]),
    Route("/admin/users/groups/{group}/members", group_members_submit, methods=["POST"]),
    Route("/admin/users/groups/{group}/delete", group_delete_submit, methods=["POST"]),
    Route("/admin/users/{user}", user_page, methods=["GET"]),
    Route("/admin/users/{user}", user_submit, methods=["POST"]),
    Route("/admin/users/{user}/link", link_submit, methods=["POST"]),
    Route("/admin/users/{user}/password", password_submit, methods=["POST"]),
    Route("/admin/users/{user}/active", active_submit, methods=["POST"]),
    Route("/admin/users/{user}/delete", delete_submit, methods=["POST"]),
    Route("/admin/users/{user}/totp-reset", totp_reset_submit, methods=["POST"]),
    Route("/admin/users/{user}/tokens/{token}/revoke", token_revoke_submit, methods=["POST"]),
]
