"""What the browser widgets need to know, as JSON for the page's data block.

The grid, the card's pickers and the boards are JavaScript modules that talk to the REST
API with the session cookie; the page tells them the catalog's fields (only those the
user may see, with what they may do with each), the view, the filter and sort in force,
and the UI strings in the user's language.
"""

from __future__ import annotations

from typing import Any

import orjson
from markupsafe import Markup

from kartoteka.access import service as access
from kartoteka.catalogs.models import Catalog, Field
from kartoteka.context import Actor
from kartoteka.records.read import visible_fields

from . import colmenu, i18n
from .i18n import N_, _

OPERATOR_LABELS = {
    "eq": N_("is"),
    "ne": N_("is not"),
    "lt": N_("less than"),
    "lte": N_("at most"),
    "gt": N_("greater than"),
    "gte": N_("at least"),
    "in": N_("is any of"),
    "nin": N_("is none of"),
    "contains": N_("contains (case-sensitive)"),
    "startswith": N_("starts with (case-sensitive)"),
    "icontains": N_("contains"),
    "istartswith": N_("starts with"),
    "iendswith": N_("ends with"),
    "ieq": N_("equals, any case"),
    "search": N_("has the words"),
    "between": N_("between"),
    "empty": N_("is empty"),
}

#: UI strings the scripts show (kept here so `pybabel extract` sees them).
SCRIPT_STRINGS = {
    "saved": N_("Saved"),
    "copied": N_("Copied"),
    "match_mode": N_("Records must match"),
    "match_all": N_("all of the conditions"),
    "match_any": N_("any of the conditions"),
    "error": N_("Something went wrong. Try again."),
    "network": N_("The server cannot be reached. Check the connection and try again."),
    "loading": N_("Loading…"),
    "empty": N_("No records yet — create one or import a file."),
    "no_match": N_("No records match the filter."),
    "filter": N_("Filter"),
    "any_text": N_("Any text field"),
    "add_condition": N_("Add a condition"),
    "remove": N_("Remove"),
    "apply": N_("Apply"),
    "clear": N_("Clear"),
    "close": N_("Close"),
    "from": N_("from"),
    "to": N_("to"),
    "yes": N_("yes"),
    "no": N_("no"),
    "delete_selected": N_("Delete selected"),
    "edit_selected": N_("Edit selected"),
    "merge_selected": N_("Merge selected"),
    "bulk_title": N_("Change %(n)s selected records"),
    "bulk_field": N_("Field"),
    "bulk_value": N_("New value"),
    "bulk_hint": N_("Every selected record gets this value; leave it empty to clear the field."),
    "bulk_done": N_("Changed: %(n)s"),
    "bulk_too_many": N_("At most %(n)s records can be changed at once. Select fewer."),
    "bulk_failed": N_("Record #%(id)s, %(field)s: %(reason)s"),
    "bulk_stale": N_(
        "Record #%(id)s was changed by someone meanwhile; it now shows their values."
        " Nothing was changed — check and apply again."
    ),
    "bulk_nothing": N_("Nothing was changed."),
    "cancel": N_("Cancel"),
    "confirm_delete": N_("Delete the selected records? This cannot be undone."),
    "deleted": N_("Deleted"),
    "save_view": N_("Save view"),
    "view_saved": N_("View saved"),
    "count_more": N_("Count records"),
    "changed_by": N_("This record was changed by %(name)s."),
    "reload": N_("Reload"),
    "created": N_("Record created"),
    "moved": N_("Moved"),
    "move_card": N_("Move “%(title)s” to"),
    "uploading": N_("Uploading…"),
    "search": N_("Search…"),
    "create": N_("Create"),
    "relative_hint": N_("A date, or today, -7d, +1w, -1m"),
    "me": N_("me"),
    "new_record": N_("New record"),
    "changed_meanwhile": N_("Someone changed this record meanwhile; it now shows their values."),
    "select_row": N_("Select row"),
    "select_all": N_("Select all"),
    "open": N_("Open"),
    "sort_asc": N_("sorted ascending"),
    "sort_desc": N_("sorted descending"),
    "group_none": N_("No grouping"),
    "group_empty": N_("(empty)"),
    "group_count": N_("records: %(n)s"),
    "save": N_("Save"),
    "save_view_title": N_("Save as view"),
    "save_view_hint": N_(
        "The view keeps the filter, the sort, the columns shown with their order and widths,"
        " and the grouping."
    ),
    "save_view_where": N_("Save"),
    "save_view_new": N_("as a new view"),
    "save_view_over": N_("over the view “%(name)s”"),
    "save_view_name": N_("Name of the view"),
    "save_view_name_needed": N_("Give the view a name."),
    "save_view_who": N_("Who sees it"),
    "save_view_personal": N_("Only me (a personal view)"),
    "save_view_shared_hint": N_(
        "A shared view is a tab for everyone who can open the catalog; a personal one only for you."
    ),
    "save_view_personal_only": N_(
        "Only those who manage the catalog share views: yours is personal, a tab only for you."
    ),
    "save_view_default": N_("The catalog opens in this view"),
}


def script_strings() -> dict[str, str]:
    """The scripts' UI strings in the current language."""
    every = {**SCRIPT_STRINGS, **colmenu.STRINGS}
    out = {key: _(text) for key, text in every.items()}
    # "%(num)d records" in each plural category the scripts' Intl.PluralRules names,
    # taken from the catalogue's own forms for a number of that category.
    forms = i18n.translations(i18n.current_lang.get())
    for category, sample in (("one", 1), ("few", 2), ("many", 5), ("other", 2)):
        out[f"count_{category}"] = forms.ungettext("%(num)d record", "%(num)d records", sample)
    return out


def field_json(actor: Actor, catalog: Catalog, f: Field, rules: dict[str, str]) -> dict[str, Any]:
    """One visible field as the widgets see it."""
    rule = rules.get(f.api_name)
    editable = f.ftype.inline_edit and not f.ftype.read_only and rule not in ("read_only", "masked")
    out: dict[str, Any] = {
        "id": f.id,
        "api_name": f.api_name,
        "name": f.name,
        "type": f.type,
        "required": f.required,
        "read_only": f.ftype.read_only,
        "editable": editable,
        "inline": editable,
        "masked": rule == "masked",
        "reveal": rule == "masked" and access.may_reveal(actor, catalog, f),
        "sortable": f.ftype.sortable and rule != "masked",
        "filterable": rule != "masked",
        "operators": sorted(f.ftype.operators),
        # Full-text search (`{"field": {"search": "…"}}`) where the filter may hold one.
        "searchable": bool(f.ftype.searchable),
        "multiple": bool(f.options.get("multiple")),
        "help": f.options.get("help") or "",
        # Rows of a table view may be grouped by it (views.OPTIONAL_OPTIONS["table"]).
        "groupable": bool({"group", "date"} & f.ftype.view_roles) and rule != "masked",
    }
    out.update(f.ftype.ui_options(f))
    return out


def catalog_fields(actor: Actor, catalog: Catalog) -> list[dict[str, Any]]:
    """Every field the actor may see, in order."""
    rules = access.field_rules(actor, catalog)
    return [field_json(actor, catalog, f, rules) for f in visible_fields(actor, catalog, None)]


def hop_fields(actor: Actor, catalog: Catalog) -> list[dict[str, Any]]:
    """Fields one hop away through the link fields (`client.stage`), for the filter builder."""
    out = []
    meta = actor.workspace.meta()
    rules = access.field_rules(actor, catalog)
    for f in visible_fields(actor, catalog, None):
        if f.ftype.storage != "links" or rules.get(f.api_name) == "masked":
            continue
        target = meta.catalog(f.options.get("catalog") or 0)
        if target is None or not access.can_see_catalog(actor, target):
            continue
        target_rules = access.field_rules(actor, target)
        for g in visible_fields(actor, target, None):
            if not g.ftype.hop_filter or target_rules.get(g.api_name) == "masked":
                continue
            item = field_json(actor, target, g, target_rules)
            item.update(api_name=f"{f.api_name}.{g.api_name}", name=f"{f.name} → {g.name}")
            item.update(editable=False, inline=False, sortable=False)
            out.append(item)
    return out


def operator_labels() -> dict[str, str]:
    """Filter operators in the current language."""
    return {op: _(label) for op, label in OPERATOR_LABELS.items()}


def data_block(value: Any) -> Markup:
    """JSON safe to put inside <script type="application/json"> (no `</script>` break-out)."""
    text = orjson.dumps(value).decode()
    return Markup(text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026"))
