"""FastAPI's parameter errors (pydantic's) as our coded problems.

A query or path parameter out of its declared range (`?limit=0`) is refused by FastAPI
before the endpoint runs, with pydantic's English text. Its error types are stable, so
each maps to one of our message codes and its context to the code's parameters; the
answer then reads in the caller's language like any other VALIDATION.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from kartoteka.errors import ItemError

#: pydantic error type -> (message code, {the code's parameter: pydantic's context key}).
PARAM_CODES: dict[str, tuple[str, dict[str, str]]] = {
    "missing": ("required", {}),
    "int_parsing": ("integer", {}),
    "int_type": ("integer", {}),
    "int_from_float": ("integer", {}),
    "bool_parsing": ("boolean", {}),
    "bool_type": ("boolean", {}),
    "greater_than_equal": ("number_at_least", {"min": "ge"}),
    "greater_than": ("number_above", {"min": "gt"}),
    "less_than_equal": ("number_at_most", {"max": "le"}),
    "less_than": ("number_below", {"max": "lt"}),
    "string_too_long": ("max_length", {"max": "max_length"}),
    "string_too_short": ("min_length", {"min": "min_length"}),
    "literal_error": ("one_of", {"allowed": "expected"}),
    "enum": ("one_of", {"allowed": "expected"}),
}


def param_error(err: Mapping[str, Any]) -> ItemError:
    """One pydantic error as a problem about the parameter it names."""
    loc = [str(x) for x in err.get("loc", ()) if x not in ("query", "path", "body", "header")]
    field = ".".join(loc) or "request"
    found = PARAM_CODES.get(str(err.get("type")))
    if found is None:
        # A type without a code of ours keeps pydantic's English text.
        return ItemError(None, None, field, "invalid", {"message": err.get("msg", "invalid")})
    code, keys = found
    context = err.get("ctx") or {}
    return ItemError(None, None, field, code, {ours: context.get(k) for ours, k in keys.items()})
