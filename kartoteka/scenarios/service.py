"""Scenarios service: the functions the API, the web pages and the CLI call.

Definitions and versions live in `authoring.py`, runs and their starts in
`run_control.py`; this module names them in one place and keeps the SMTP settings
e-mail steps send through.
"""

from __future__ import annotations

from typing import Any

from kartoteka.catalogs import service as catalogs
from kartoteka.context import Actor
from kartoteka.errors import ValidationFailed

from . import mail
from .authoring import (
    EXPORT_FORMAT,
    create_scenario,
    delete_scenario,
    export_scenario,
    get_scenario,
    import_scenario,
    list_scenarios,
    list_versions,
    render,
    rotate_token,
    update_scenario,
)
from .lookup import require_admin
from .run_control import (
    DEFAULT_RUNS,
    MAX_RUNS,
    cancel_run,
    get_run,
    list_runs,
    retry_run,
    start_run,
    trigger_incoming,
)

__all__ = [
    "DEFAULT_RUNS",
    "EXPORT_FORMAT",
    "MAX_RUNS",
    "cancel_run",
    "create_scenario",
    "delete_scenario",
    "export_scenario",
    "get_run",
    "get_scenario",
    "get_smtp",
    "import_scenario",
    "list_runs",
    "list_scenarios",
    "list_versions",
    "render",
    "require_admin",
    "retry_run",
    "rotate_token",
    "set_smtp",
    "start_run",
    "trigger_incoming",
    "update_scenario",
]


def get_smtp(actor: Actor) -> dict[str, Any]:
    """The workspace's SMTP settings (the password is never shown)."""
    require_admin(actor)
    value = mail.smtp_settings(actor.workspace) or {}
    return {
        **{k: v for k, v in value.items() if k != "password"},
        "has_password": bool(value.get("password")),
    }


def set_smtp(actor: Actor, body: Any) -> dict[str, Any]:
    """Store the SMTP settings e-mail steps send through."""
    require_admin(actor)
    clean, errors = mail.clean_settings(body)
    if errors:
        raise ValidationFailed(errors=errors)
    catalogs.set_setting(actor, mail.SETTING, clean)
    return get_smtp(actor)
