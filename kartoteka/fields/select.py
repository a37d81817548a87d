"""`select`: one (or, with `multiple`, several) of a list of choices."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .base import (
    FieldValueError,
    LinkRef,
    decode_multi,
)
from .multi import MultiIdType

if TYPE_CHECKING:
    from kartoteka.catalogs.models import Field
    from kartoteka.context import Actor


COLORS = ("gray", "red", "orange", "yellow", "green", "teal", "blue", "purple", "pink", "brown")


def clean_choices(choices: Any, previous: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Give every choice a stable id; keep ids of choices that existed before."""
    if not isinstance(choices, list) or len(choices) > 1000:
        raise FieldValueError(
            "choices must be a list of at most 1000 items", "choices_list", max=1000
        )
    by_id = {c["id"]: c for c in previous}
    by_label = {c["label"].lower(): c for c in previous}
    next_id = max([c["id"] for c in previous], default=0) + 1
    seen: set[str] = set()
    result = []
    for i, choice in enumerate(choices):
        if isinstance(choice, str):
            choice = {"label": choice}
        if not isinstance(choice, dict) or not isinstance(choice.get("label"), str):
            raise FieldValueError(f"choices[{i}] needs a label", "choice_label", n=i + 1)
        label = choice["label"].strip()
        if not label or len(label) > 200:
            raise FieldValueError(
                f"choices[{i}]: label must be 1..200 characters", "choice_label", n=i + 1
            )
        if label.lower() in seen:
            raise FieldValueError(
                f"choices[{i}]: duplicate label {label!r}", "choice_duplicate", n=i + 1, label=label
            )
        seen.add(label.lower())
        color = choice.get("color") or COLORS[i % len(COLORS)]
        if not isinstance(color, str) or len(color) > 30:
            raise FieldValueError(f"choices[{i}]: bad color", "choice_color", n=i + 1)
        old = by_id.get(choice.get("id")) or by_label.get(label.lower())
        if old is not None:
            cid = old["id"]
        else:
            cid = next_id
            next_id += 1
        result.append({"id": cid, "label": label, "color": color})
    return result


class SelectType(MultiIdType):
    """Choice from a list; written by option id or label, read as `{id, label, color}`."""

    type = "select"
    editor = "select"
    cell = "chips"
    inline_edit = True
    has_choices = True
    view_roles = frozenset({"group"})
    labels = {"en": "Select", "ru": "Список"}
    item_noun = "choice"
    searchable = True
    option_docs = {
        "choices": 'list of {"label", "color"?} (ids are assigned)',
        "multiple": "allow several choices",
    }

    def ui_options(self, field: Field) -> dict[str, Any]:
        return {"choices": field.options.get("choices", [])}

    def board_columns(self, field: Field, people: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [
            {"key": str(c["id"]), "label": c["label"], "color": c.get("color")}
            for c in field.options.get("choices", [])
        ]

    def value_schema(self, field: Field, link_ref: LinkRef) -> dict[str, Any]:
        labels = [c["label"] for c in field.options.get("choices") or []]
        choice = {
            "type": "object",
            "properties": {
                "id": {"type": "integer"},
                "label": {"type": "string", "enum": labels},
                "color": {"type": ["string", "null"]},
            },
            "required": ["id", "label"],
        }
        return self.one_or_many(choice, field)

    def write_schema(self, field: Field, link_ref: LinkRef) -> dict[str, Any]:
        choices = field.options.get("choices") or []
        one = {
            "oneOf": [
                {"type": "string", "enum": [c["label"] for c in choices]},
                {"type": "integer", "enum": [c["id"] for c in choices]},
            ],
            "description": "a choice by label (any case) or id",
        }
        return self.one_or_many_written(one, field)

    def clean_options(
        self, options: dict[str, Any], previous: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        options = super().clean_options(options, previous)
        prev = (previous or {}).get("choices") or []
        options["choices"] = clean_choices(options.get("choices", prev), prev)
        return options

    def choice_id(self, value: Any, field: Field) -> int:
        """Resolve one choice by id or (case-insensitive) label."""
        choices = field.options.get("choices") or []
        if isinstance(value, dict):
            value = value.get("id", value.get("label"))
        if isinstance(value, int) and not isinstance(value, bool):
            for c in choices:
                if c["id"] == value:
                    return value
        if isinstance(value, str):
            low = value.strip().lower()
            for c in choices:
                if c["label"].lower() == low:
                    found: int = c["id"]
                    return found
            if low.isdecimal() and len(low) < 20:
                return self.choice_id(int(low), field)
        raise FieldValueError(f"unknown choice {value!r}", "unknown_choice", choice=value)

    def _choices_by_id(self, field: Field) -> dict[int, dict[str, Any]]:
        """The field's choices as rendered, by id (kept in the field's memo)."""
        memo = getattr(field, "memo", None)
        by_id: dict[int, dict[str, Any]] | None = (
            memo.get("choices_by_id") if memo is not None else None
        )
        if by_id is None:
            by_id = {
                c["id"]: {"id": c["id"], "label": c["label"], "color": c.get("color")}
                for c in field.options.get("choices") or []
            }
            if memo is not None:
                memo["choices_by_id"] = by_id
        return by_id

    def _render(self, cid: int, field: Field) -> dict[str, Any] | None:
        found = self._choices_by_id(field).get(cid)
        return dict(found) if found is not None else None

    def from_db(self, raw: Any, field: Field, actor: Actor | None) -> Any:
        if field.options.get("multiple"):
            return [r for r in (self._render(i, field) for i in decode_multi(raw)) if r]
        return None if raw is None else self._render(int(raw), field)

    def reader(self, field: Field, actor: Actor | None) -> Callable[[Any], Any]:
        get = self._choices_by_id(field).get
        if field.options.get("multiple"):
            return lambda raw: [dict(c) for c in map(get, decode_multi(raw)) if c is not None]

        def one(raw: Any) -> dict[str, Any] | None:
            if raw is None:
                return None
            found = get(int(raw))
            return None if found is None else dict(found)

        return one

    def to_text(self, value: Any, field: Field) -> str:
        if not value:
            return ""
        if isinstance(value, list):
            return ", ".join(v["label"] for v in value)
        return str(value["label"])

    def one_id(self, value: Any, field: Any, actor: Any) -> int:
        return self.choice_id(value, field)
