"""The style sheets' blocks close where their section ends.

A merge once dropped the closing brace of a phone-only `@media` block: the bundler
closes it at the end of the file, so every rule after it silently applied to phones only
(the process designer's among them). Sections begin with a top-level `/* ----- …` comment;
each must start with every block closed, and the file must end so.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

FRONTEND = Path(__file__).resolve().parents[2] / "kartoteka" / "web" / "frontend"
SECTION = re.compile(r"^/\* -----")
COMMENT_OR_STRING = re.compile(r"/\*.*?\*/|\"(?:\\.|[^\"\\])*\"|'(?:\\.|[^'\\])*'", re.S)


def depth_at_sections(css: str) -> tuple[list[tuple[int, int]], int]:
    """(line, brace depth) at each section comment, and the depth at the end."""
    found: list[tuple[int, int]] = []
    depth = 0
    for number, line in enumerate(css.splitlines(), 1):
        if SECTION.match(line):
            found.append((number, depth))
        code = COMMENT_OR_STRING.sub("", line)
        depth += code.count("{") - code.count("}")
        assert depth >= 0, f"line {number} closes a block that was never opened"
    return found, depth


@pytest.mark.parametrize("name", sorted(p.name for p in FRONTEND.glob("*.css")))
def test_every_section_starts_at_top_level(name: str) -> None:
    css = (FRONTEND / name).read_text(encoding="utf-8")
    sections, end = depth_at_sections(css)
    assert [line for line, depth in sections if depth] == [], "a block left open before these"
    assert end == 0


def test_the_check_finds_an_unclosed_media_block() -> None:
    broken = "a { b: c; }\n@media (max-width: 640px) {\n  a { b: d; }\n/* ----- next */\nx {}\n"
    sections, end = depth_at_sections(broken)
    assert sections == [(4, 1)] and end == 1
