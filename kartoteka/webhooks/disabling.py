"""Why a webhook was switched off: a message code with its parameters, and the English
text the API has always shown as `disabled_reason`.

The webhook screens word the code in the administrator's language
(`kartoteka.messages`); webhooks switched off before the codes existed (migration 0020)
have the English text alone and show it in every language.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from kartoteka import messages
from kartoteka.storage import schema
from kartoteka.storage.engine import utcnow


def disabled_values(code: str | None, params: dict[str, Any] | None) -> dict[str, Any]:
    """The webhook columns saying why it was switched off: the code and parameters, and
    the English text the API has always shown as `disabled_reason` (None: clear them)."""
    if code is None:
        return {
            "disabled_reason": None,
            "disabled_reason_code": None,
            "disabled_reason_params": None,
        }
    english = messages.message(code, params or {}, "en")
    return {
        "disabled_reason": english[:300],
        "disabled_reason_code": code,
        "disabled_reason_params": params or {},
    }


def disabled_reason_text(hook: dict[str, Any], lang: str) -> str | None:
    """Why a rendered webhook was switched off, in `lang`; a webhook switched off before the
    codes existed (migration 0020) keeps its English text."""
    code = hook.get("disabled_reason_code")
    if not code:
        return hook.get("disabled_reason")
    return messages.message(code, hook.get("disabled_reason_params") or {}, lang)


def disable(conn: sa.Connection, webhook_id: int, code: str, params: dict[str, Any]) -> None:
    """Switch a webhook off (410 Gone from its receiver), keeping why as a message code."""
    t = schema.webhooks
    conn.execute(
        sa.update(t)
        .where(t.c.id == webhook_id)
        .values(active=False, **disabled_values(code, params), updated_at=utcnow())
    )
