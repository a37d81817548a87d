"""Workspace settings (name, time zone, default language...): `kartoteka.workspaces.settings`."""

from __future__ import annotations

from typing import Any

from fastapi import Depends, Request

from kartoteka.context import Actor
from kartoteka.edge import client_address
from kartoteka.workspaces import settings

from ..deps import actor, json_body, object_body
from ..responses import Router
from ..schemas import body_doc

router = Router(tags=["settings"])

SETTINGS_BODY = {
    "type": "object",
    "properties": {
        "title": {"type": "string", "description": "the workspace's display name (≤ 100)"},
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


@router.get("/settings", summary="Workspace settings")
def get_settings(a: Actor = Depends(actor)) -> dict[str, Any]:
    """Name, time zone ('today' and relative dates use it), default UI language and more."""
    return settings.current(a)


@router.patch(
    "/settings", summary="Change workspace settings", openapi_extra=body_doc(SETTINGS_BODY)
)
def patch_settings(
    request: Request, a: Actor = Depends(actor), body: Any = Depends(json_body)
) -> dict[str, Any]:
    """Administrators change workspace settings (all keys of the body, or none)."""
    return settings.change(a, object_body(body), client_address(request))
