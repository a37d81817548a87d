"""Workspace settings: what they are, their defaults, checking and changing them.

One place for the REST API (`GET`/`PATCH /settings`) and the settings page, so both
refuse the same input with the same per-key message codes (`kartoteka.messages.people`).
A change is checked whole before anything is stored: a bad key stores nothing.
"""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo, available_timezones

from kartoteka.catalogs import service as catalogs
from kartoteka.context import Actor
from kartoteka.errors import Forbidden, ItemError, ValidationFailed
from kartoteka.security.log import log_event

LANGUAGES = ("ru", "en")
MAX_TITLE = 100
#: Every setting with its default.
DEFAULTS: dict[str, Any] = {
    "title": "",
    "timezone": "UTC",
    "lang": "en",
    "fold_yo": True,
    "managers_change_rights": False,
    "show_emails": False,
}
BOOLEANS = ("fold_yo", "managers_change_rights", "show_emails")


def current(actor: Actor) -> dict[str, Any]:
    """Every setting's value now (the default where none was stored)."""
    stored = actor.workspace.meta().settings
    return {key: stored.get(key, default) for key, default in DEFAULTS.items()}


def time_zones() -> list[str]:
    """IANA zone names a workspace may use, sorted."""
    return sorted(available_timezones())


def _problem(key: str, value: Any) -> tuple[str, dict[str, Any]] | None:
    """Why `value` cannot be setting `key` (a message code and its parameters), or None."""
    if key not in DEFAULTS:
        return "setting_unknown", {}
    if key in BOOLEANS and not isinstance(value, bool):
        return "setting_boolean", {}
    if key == "lang" and value not in LANGUAGES:
        return "setting_lang", {"allowed": ", ".join(LANGUAGES)}
    if key == "title" and (not isinstance(value, str) or len(value.strip()) > MAX_TITLE):
        return "setting_title", {"max": MAX_TITLE}
    if key == "timezone":
        try:
            ZoneInfo(value if isinstance(value, str) and value else "-")
        except (KeyError, ValueError):
            return "setting_timezone", {}
    return None


def change(actor: Actor, patch: Any, address: str | None = None) -> dict[str, Any]:
    """Store the settings in `patch` (administrators); all of them or, on an error, none."""
    if not actor.is_admin:
        raise Forbidden.of("settings_admin_only")
    if not isinstance(patch, dict):
        raise ValidationFailed(errors=[ItemError(None, None, None, "body_object", {})])
    problems = [
        ItemError(None, None, str(key)[:100], *found)
        for key, value in patch.items()
        if (found := _problem(key, value)) is not None
    ]
    if problems:
        raise ValidationFailed(errors=problems)
    before = current(actor)
    changed = {k: v for k, v in patch.items() if before.get(k) != v}
    for key, value in changed.items():
        catalogs.set_setting(actor, key, value.strip() if key == "title" else value)
    if changed:
        log_event(
            actor.workspace, "settings_changed", actor=actor, address=address, keys=sorted(changed)
        )
    return current(actor)
