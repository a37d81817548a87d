"""The one table of amounts as users type them (tests/data/amount_cases.json).

kartoteka/web/amounts.py (the card's save) and kartoteka/web/frontend/amounts.js (the grid,
bulk edit, action webhooks) both read typed amounts; tests/web/test_amounts.py runs every
case through the first, tests/web/test_browser_amounts.py through the second in chromium,
so the two copies of the rules cannot drift apart.

A case is `text` typed in `lang`, with `decimals` the field keeps (absent: no limit), and
either the plain `value` it reads as (null: nothing typed) or the code it is `refused` with.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

CASES_FILE = Path(__file__).parents[1] / "data" / "amount_cases.json"
CASES: list[dict[str, Any]] = json.loads(CASES_FILE.read_text(encoding="utf-8"))


def case_id(case: dict[str, Any]) -> str:
    """A readable test id: the language, the digits kept and the text as a literal."""
    decimals = f"/{case['decimals']}" if "decimals" in case else ""
    return f"{case['lang']}{decimals}:{case['text']!r}"


def expected(case: dict[str, Any]) -> dict[str, Any]:
    """What reading the case must give: {"value": "1234.56" or None} or {"refused": code}."""
    if "refused" in case:
        return {"refused": case["refused"]}
    return {"value": case["value"]}
