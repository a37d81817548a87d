"""`kartoteka duplicates ...`: rules, the scan and merge from the shell (as the system actor).

`kartoteka/cli.py` wraps these in its `duplicates` command group; domain errors are
turned into one-line messages there.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import orjson
import typer
from rich.console import Console
from rich.table import Table

from kartoteka.context import Actor
from kartoteka.errors import ItemError, ValidationFailed

from . import merge as merging
from . import rules, scan

if TYPE_CHECKING:
    from kartoteka.workspaces import Instance

Catalog = Annotated[str, typer.Argument(help="Catalog api_name or id.")]
RuleOpt = Annotated[int | None, typer.Option(help="Rule id (default: the catalog's only rule).")]
Fields = Annotated[
    list[str], typer.Argument(help="Fields of the rule: api_name or api_name:normalise.")
]
Take = Annotated[
    list[str] | None,
    typer.Option("--take", help="field=record_id: keep that record's value (repeatable)."),
]
AsJson = Annotated[bool, typer.Option("--json", help="Print JSON lines instead of a table.")]

console = Console(highlight=False)


def _actor(instance: Instance, workspace: str) -> Actor:
    return Actor.system(instance.workspace(workspace))


def list_rules(instance: Instance, workspace: str, catalog: str) -> None:
    """Print the catalog's rules."""
    table = Table("id", "name", "fields", "valid")
    for r in rules.list_rules(_actor(instance, workspace), catalog):
        parts = ", ".join(f"{f['field']}:{f['normalise']}" for f in r["fields"])
        table.add_row(str(r["id"]), r["name"], parts, "yes" if r["valid"] else "NO")
    console.print(table)


def add_rule(
    instance: Instance, workspace: str, catalog: str, fields: list[str], name: str | None
) -> None:
    """Add a rule (`phone`, `inn:digits`...) and print it."""
    specs = []
    for text in fields:
        field, _, how = text.partition(":")
        specs.append({"field": field, **({"normalise": how} if how else {})})
    body = {"fields": specs, **({"name": name} if name else {})}
    made = rules.create_rule(_actor(instance, workspace), catalog, body)
    console.print(f"Rule {made['id']} ({made['name']}) added.", markup=False)


def scan_command(
    instance: Instance, workspace: str, catalog: str, rule: int | None, as_json: bool
) -> int:
    """Print every duplicate group (all pages); returns how many groups there are."""
    actor = _actor(instance, workspace)
    body: dict[str, object] = {"limit": scan.MAX_LIMIT, **({"rule": rule} if rule else {})}
    table = Table("key", "count", "records")
    groups = 0
    while True:
        page = scan.scan(actor, catalog, body)
        for g in page["items"]:
            groups += 1
            if as_json:
                print(orjson.dumps(g).decode())
            else:
                names = ", ".join(f"#{r['id']} {r['title']}" for r in g["records"])
                table.add_row(g["key"], str(g["count"]), names)
        if not page["next_cursor"]:
            break
        body["cursor"] = page["next_cursor"]
    if not as_json:
        console.print(table)
        console.print(f"{groups} group(s) of duplicates.", markup=False)
    return groups


def merge_command(
    instance: Instance, workspace: str, catalog: str, into: int, others: list[int], take: list[str]
) -> None:
    """Merge records into `into`; `take` items are `field=record_id`."""
    values: dict[str, int] = {}
    for item in take:
        field, _, rid = item.partition("=")
        if not field or not rid.isdecimal():
            raise ValidationFailed(
                errors=[ItemError(None, None, "--take", "merge_field", {"name": item})]
            )
        values[field] = int(rid)
    body = {"into": into, "records": others, "values": values}
    record = merging.merge(_actor(instance, workspace), catalog, body)
    console.print(
        f"Merged {', '.join(f'#{o}' for o in others)} into #{record['id']}.", markup=False
    )
