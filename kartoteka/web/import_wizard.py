"""What the import wizard's page tells its script: the API addresses, the choices offered
for parsing, and the texts the script writes itself (counts, progress, ETA), translated.

The wizard uses the importer's REST API as any client would: `imports/preview` to look
at the file, `imports` with `dry_run` and without, `imports/{id}` to follow a job,
`imports/{id}/cancel`, and the job's error file.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from kartoteka.access import service as access
from kartoteka.catalogs.models import Catalog
from kartoteka.context import Actor
from kartoteka.duplicates.rules import rules_of
from kartoteka.importer.options import STAMPS

from .i18n import N_, _
from .pages import Ctx, catalog_url

#: (strptime format sent as `date_format`, what the user sees) — ISO needs none.
DATE_FORMATS = (
    ("", N_("automatic")),  # (what it reads: the hint under the select)
    ("%d.%m.%Y", "31.12.2026"),
    ("%d.%m.%y", "31.12.26"),
    ("%d/%m/%Y", "31/12/2026"),
    ("%m/%d/%Y", "12/31/2026"),
    ("%Y-%m-%d", "2026-12-31"),
    ("%d.%m.%Y %H:%M", "31.12.2026 18:30"),
)
ENCODINGS = (
    ("", N_("detect")),
    ("utf-8-sig", "UTF-8"),
    ("cp1251", "Windows-1251"),
    ("koi8-r", "KOI8-R"),
    ("cp866", "CP866 (DOS)"),
    ("latin-1", "Latin-1"),
)
DELIMITERS = (
    ("", N_("detect")),
    (",", N_("comma ,")),
    (";", N_("semicolon ;")),
    ("tab", N_("tab")),
    ("|", N_("vertical bar |")),
)
STRINGS = {
    "reading": N_("Reading the file…"),
    "skip": N_("— do not import —"),
    "by_label": N_("by the choice's label: %(choices)s"),
    "by_email": N_("by e-mail address (or user id)"),
    "booleans": N_("yes/no, да/нет, true/false, 1/0"),
    "match_by": N_("find the linked record by"),
    "record_id": N_("record id"),
    "numbers": N_("numbers: see “decimal separator” above"),
    "dates": N_("dates: see “date format” above"),
    "required_unmapped": N_("Required fields without a column: %(names)s"),
    "no_columns": N_("Choose a field for at least one column."),
    "key_needed": N_("Choose the field that identifies existing records."),
    "checking": N_("Checking every row…"),
    "importing": N_("Importing…"),
    "progress": N_("%(done)s of %(total)s rows"),
    "progress_open": N_("%(done)s rows"),
    "eta": N_("about %(time)s left"),
    "seconds": N_("%(n)s s"),
    "minutes": N_("%(n)s min"),
    "would": N_(
        "Would create: %(created)s, update: %(updated)s, leave unchanged: %(unchanged)s; "
        "rows with errors: %(errors)s."
    ),
    "did": N_(
        "Created: %(created)s, updated: %(updated)s, unchanged: %(unchanged)s; "
        "rows with errors: %(errors)s."
    ),
    "no_errors": N_("No errors."),
    "first_errors": N_("Errors (the first %(shown)s of %(errors)s):"),
    "cancelled": N_("The import was cancelled: the rows of finished chunks stay."),
    "failed": N_("The import stopped: %(message)s"),
    "cancelling": N_("Stopping after the current chunk…"),
    "col_line": N_("Line"),
    "col_column": N_("Column"),
    "col_value": N_("Value"),
    "col_reason": N_("Reason"),
    "date_custom_bad": N_("Write the format with dd, mm and yy or yyyy (for example dd.mm.yyyy)."),
    "create_missing": N_("create the missing ones"),
    "list_separator_bad": N_("Write 1 to 5 characters that are not all spaces, e.g. | or ;"),
    "stamps_group": N_("The record's dates and authors"),
    "stamp_user": N_("a user's e-mail address; empty: the importing user"),
}
#: The record's own dates and authors an administrator may take from the file
#: (`keep_stamps`, importer/stamps.py), as the mapping's field select offers them.
STAMP_LABELS = {
    "created_at": N_("Created at (from the file)"),
    "updated_at": N_("Updated at (from the file)"),
    "created_by": N_("Created by (e-mail, from the file)"),
    "updated_by": N_("Updated by (e-mail, from the file)"),
}
#: What a row that would create a duplicate may do (`duplicates`, docs/duplicates.md).
DUPLICATE_CHOICES = (
    ("report", N_("refuse the row"), N_("it is listed with the errors; the default")),
    ("skip", N_("skip the row"), N_("nothing is written; it counts as unchanged")),
    (
        "merge",
        N_("update the existing record"),
        N_("when exactly one record matches; otherwise the row is refused"),
    ),
    ("allow", N_("create it anyway"), N_("no duplicate check for these rows")),
)


def may_import(actor: Actor, catalog: Catalog) -> bool:
    """Whether the actor may run some import into the catalog (create or edit records)."""
    if not access.can_see_catalog(actor, catalog):
        return False
    if actor.is_admin or access.can_create(actor, catalog):
        return True
    return any(g.get("edit") not in (None, False) for g in access.grants(actor, catalog))


def duplicate_rule_names(actor: Actor, catalog: Catalog) -> list[str]:
    """The names of the catalog's valid duplicate rules (the wizard offers `duplicates`
    only when there is one)."""
    return [rule.name for rule in rules_of(actor, catalog)]


def creatable_links(actor: Actor, catalog: Catalog) -> list[str]:
    """The catalog's link fields whose linked catalog the actor may create records in
    (`create_missing` is offered for them)."""
    meta = actor.workspace.meta()
    out = []
    for f in catalog.fields:
        if not f.is_link:
            continue
        target = meta.catalog(f.options.get("catalog") or 0)
        if (
            target is not None
            and access.can_see_catalog(actor, target)
            and access.can_create(actor, target)
        ):
            out.append(f.api_name)
    return out


def config(ctx: Ctx, catalog: Catalog) -> dict[str, Any]:
    """The wizard script's data block."""
    api = f"{ctx.base}/api/v1"
    ref = quote(catalog.api_name, safe="")
    stamps = (
        [{"value": name, "label": _(STAMP_LABELS[name])} for name in STAMPS]
        if ctx.user.is_admin
        else []
    )
    return {
        "catalog": catalog.api_name,
        "preview": f"{api}/catalogs/{ref}/imports/preview",
        "imports": f"{api}/catalogs/{ref}/imports",
        "jobs": f"{api}/imports",
        "catalog_url": catalog_url(ctx, catalog.api_name),
        "can_create": access.can_create(ctx.user, catalog),
        "duplicate_rules": duplicate_rule_names(ctx.user, catalog),
        "create_missing": creatable_links(ctx.user, catalog),
        "stamps": stamps,
        "strings": {key: _(text) for key, text in STRINGS.items()},
    }
