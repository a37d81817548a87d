"""Revealing the unmasked value of a masked field (an audited action)."""

from __future__ import annotations

from typing import Any

from kartoteka.access import service as access
from kartoteka.access.visibility import require_visible
from kartoteka.catalogs.service import get_field
from kartoteka.context import Actor
from kartoteka.errors import Forbidden, NotFound
from kartoteka.security.log import log_event

from .service import get_record


def reveal(actor: Actor, catalog_ref: str | int, record_id: int, field_ref: str) -> dict[str, Any]:
    """The unmasked value of a masked field, for groups allowed to reveal (audited)."""
    catalog, field = get_field(actor, catalog_ref, field_ref)
    rule = access.field_rules(actor, catalog).get(field.api_name)
    if rule == "hidden":
        # As for a field that does not exist: a hidden field's name is not confirmed.
        raise NotFound.of("field_not_found", None, ref=field_ref, catalog=catalog.api_name)
    if rule == "masked" and not access.may_reveal(actor, catalog, field):
        raise Forbidden.of("reveal_forbidden", None, field=field.api_name)
    require_visible(actor, catalog, record_id)
    system = Actor.system(actor.workspace)
    value = get_record(system, catalog.id, record_id, [field.api_name])["values"][field.api_name]
    log_event(
        actor.workspace,
        "reveal",
        actor=actor,
        catalog=catalog.api_name,
        record_id=record_id,
        field=field.api_name,
    )
    return {"field": field.api_name, "value": value}
