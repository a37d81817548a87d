"""Workspace settings (time zone, default language)."""

from __future__ import annotations

from typing import Any

from fastapi import Depends

from kartoteka.catalogs import service
from kartoteka.context import Actor
from kartoteka.errors import Forbidden, ValidationFailed

from ..deps import actor, json_body, object_body
from ..responses import Router
from ..schemas import body_doc

router = Router(tags=["settings"])

SETTINGS_BODY = {
    "type": "object",
    "properties": {
        "timezone": {"type": "string", "description": "IANA zone, e.g. Europe/Moscow"},
        "lang": {"type": "string", "enum": ["ru", "en"]},
        "fold_yo": {"type": "boolean", "description": "text search treats ё as е"},
        "managers_change_rights": {
            "type": "boolean",
            "description": "catalog managers may change rights, never beyond their own",
        },
        "show_emails": {
            "type": "boolean",
            "description": "users who are not administrators see each other's e-mails",
        },
    },
}
DEFAULTS: dict[str, Any] = {
    "timezone": "UTC",
    "lang": "en",
    "fold_yo": True,
    "managers_change_rights": False,
    "show_emails": False,
}


def _current(a: Actor) -> dict[str, Any]:
    stored = a.workspace.meta().settings
    return {key: stored.get(key, default) for key, default in DEFAULTS.items()}


@router.get("/settings", summary="Workspace settings")
def get_settings(a: Actor = Depends(actor)) -> dict[str, Any]:
    """Time zone ('today' and relative dates use it) and default UI language."""
    return _current(a)


@router.patch(
    "/settings", summary="Change workspace settings", openapi_extra=body_doc(SETTINGS_BODY)
)
def patch_settings(a: Actor = Depends(actor), body: Any = Depends(json_body)) -> dict[str, Any]:
    """Administrators change workspace settings."""
    if not a.is_admin:
        raise Forbidden("only administrators change workspace settings")
    body = object_body(body)
    unknown = set(body) - set(DEFAULTS)
    if unknown:
        raise ValidationFailed(
            f"unknown setting(s): {', '.join(sorted(unknown))}",
            fields={k: "unknown setting" for k in unknown},
        )
    if "lang" in body and body["lang"] not in ("ru", "en"):
        raise ValidationFailed("lang must be ru or en", fields={"lang": "ru or en"})
    if "fold_yo" in body and not isinstance(body["fold_yo"], bool):
        raise ValidationFailed("fold_yo must be true or false", fields={"fold_yo": "true or false"})
    if "managers_change_rights" in body and not isinstance(body["managers_change_rights"], bool):
        raise ValidationFailed(
            "managers_change_rights must be true or false",
            fields={"managers_change_rights": "boolean"},
        )
    if "show_emails" in body and not isinstance(body["show_emails"], bool):
        raise ValidationFailed(
            "show_emails must be true or false", fields={"show_emails": "boolean"}
        )
    if "timezone" in body and not isinstance(body["timezone"], str):
        raise ValidationFailed("timezone must be a string", fields={"timezone": "IANA zone name"})
    for key, value in body.items():
        service.set_setting(a, key, value)
    return _current(a)
