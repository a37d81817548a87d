"""The administration area's sections: one entry per section, in the order of the nav.

`templates/admin/_nav.html` draws them on every administration page and `/admin` lists
them with their hints. An area adds its section with one line below; the nav shows a
section only once a GET route serves its path, so an entry may land before its page.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from starlette.routing import BaseRoute, Match

from .i18n import N_


@dataclass(frozen=True)
class Section:
    """One administration section: `path` is relative to the workspace's base URL."""

    key: str
    label: str
    path: str
    hint: str


SECTIONS: list[Section] = [
    Section(
        "catalogs",
        N_("Catalogs"),
        "/admin/catalogs",
        N_("Catalogs and sidebar sections, fields, views."),
    ),
    Section(
        "users",
        N_("Users & groups"),
        "/admin/users",
        N_("Invite people, groups, passwords, API tokens."),
    ),
    Section("rights", N_("Rights"), "/admin/rights", N_("Who may see and change what.")),
    Section(
        "webhooks",
        N_("Webhooks"),
        "/admin/webhooks",
        N_("Notify other systems of changes; delivery log and replay."),
    ),
    Section(
        "scenarios",
        N_("Scenarios"),
        "/admin/scenarios",
        N_("Automation: triggers and steps, runs, test mode."),
    ),
    Section(
        "imports", N_("Imports"), "/admin/imports", N_("Load records from CSV and Excel files.")
    ),
    Section(
        "settings",
        N_("Workspace settings"),
        "/settings",
        N_("Name, time zone, language, limits, security log."),
    ),
    Section(
        "workspaces",
        N_("Workspaces"),
        "/admin/workspaces",
        N_("Workspaces of this server: create, back up, restore."),
    ),
    Section("notices", N_("Notices"), "/notices", N_("Problems the server reported to you.")),
]

_served: dict[int, tuple[Section, ...]] = {}


def served(routes: Iterable[BaseRoute], key: int) -> tuple[Section, ...]:
    """The sections whose page exists among `routes` (remembered per route table `key`)."""
    found = _served.get(key)
    if found is None:
        table = list(routes)
        found = tuple(s for s in SECTIONS if _serves(table, s.path))
        _served[key] = found
    return found


def _serves(routes: list[BaseRoute], path: str) -> bool:
    scope = {"type": "http", "path": path, "method": "GET", "root_path": ""}
    for route in routes:
        match, child = route.matches(scope)
        if match is Match.FULL and not child.get("path_params"):
            return True
    return False
