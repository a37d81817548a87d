"""Errors are raised as codes with parameters, not English sentences (issue 15).

An exception raised with a text containing a space and no message code beside it is
English a reader of another language would get untranslated. Where English is right
(an operator's configuration, a protocol's technical detail, a bug guard) the raise
says so with `english-ok` in a comment or docstring above it (or near the module's
top, for a whole module). The packages listed here are done; the others join the list
as they move to codes.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent / "kartoteka"
CODED = [
    "access", "api", "auth", "catalogs", "comments", "duplicates", "exporter", "fields",
    "files", "filters", "notices", "records", "rights", "scenarios", "security", "storage",
    "users", "views", "web", "webhooks", "workspaces", "config.py", "cli.py",
    "importer/convert.py", "importer/runner.py", "importer/results.py", "search/attachments.py",
]  # fmt: skip
#: Modules of the coded packages still moving to codes with their own work.
PENDING: set[str] = set()
#: How far above a raise (lines) and how far into a module `english-ok` counts.
REACH, HEAD = 20, 30


def _english(node: ast.expr) -> bool:
    return isinstance(node, ast.Constant | ast.JoinedStr) and " " in ast.unparse(node)


def _code(node: ast.expr) -> bool:
    """A message code: `"some_code"`, `f"expected_{kind}_id"` or a caught error's `.code`."""
    if isinstance(node, ast.JoinedStr):
        return " " not in ast.unparse(node)
    if isinstance(node, ast.Attribute):
        return node.attr == "code"
    return (
        isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and node.value.isidentifier()
        and node.value.islower()
    )


def english_raises(source: str) -> list[int]:
    """Lines raising with an English text and no message code, not marked english-ok."""
    lines = source.splitlines()
    if "english-ok" in "\n".join(lines[:HEAD]):
        return []
    found = []
    for node in ast.walk(ast.parse(source)):
        if not (isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call)):
            continue
        args = node.exc.args
        if not any(_english(a) for a in args) or any(_code(a) for a in args[1:]):
            continue
        if "english-ok" not in "\n".join(lines[max(0, node.lineno - REACH) : node.lineno]):
            found.append(node.lineno)
    return found


#: Calls that store a run's summary of why it failed (scenarios/engine.py).
SUMMARY_CALLS = {"_finish"}


def english_errors(source: str) -> list[int]:
    """Lines storing an English text as an `error` (a keyword, a dict key, an item set)
    or passing one to a summary call, not marked english-ok: a stored error (a scenario
    run's summary) is kept as a code with parameters beside its English text."""
    lines = source.splitlines()
    if "english-ok" in "\n".join(lines[:HEAD]):
        return []
    found = []
    for node in ast.walk(ast.parse(source)):
        pairs: list[tuple[object, ast.expr]] = []
        if isinstance(node, ast.Call):
            pairs = [(k.arg, k.value) for k in node.keywords]
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
            if name in SUMMARY_CALLS:
                pairs += [("error", a) for a in node.args]
        elif isinstance(node, ast.Dict):
            pairs = [
                (getattr(k, "value", None), v) for k, v in zip(node.keys, node.values, strict=True)
            ]
        elif isinstance(node, ast.Assign):
            pairs = [
                (
                    getattr(t.slice, "value", None) if isinstance(t, ast.Subscript) else None,
                    node.value,
                )
                for t in node.targets
            ]
        if not any(key == "error" and _english(v) for key, v in pairs):
            continue
        if "english-ok" not in "\n".join(lines[max(0, node.lineno - REACH) : node.lineno]):
            found.append(node.lineno)
    return sorted(set(found))


def test_the_stored_error_checker_finds_english_summaries() -> None:
    source = (
        "def f(row, depth, path):\n"
        "    row['error'] = f'depth limit: a chain of {depth} runs'\n"
        "    row.update(error='depth limit reached')\n"
        "    self._finish('failed', f'{path}: failed')\n"
        "    row.update(error=message_of('run_depth_limit', {}), error_code='run_depth_limit')\n"
        "    return {'error': 'VALIDATION'}\n"
    )
    assert english_errors(source) == [2, 3, 4]


def test_coded_packages_store_no_english_errors() -> None:
    found = []
    for name in CODED:
        path = ROOT / name
        for module in sorted(path.rglob("*.py")) if path.is_dir() else [path]:
            source = module.read_text(encoding="utf-8")
            found += [f"{module.relative_to(ROOT)}:{n}" for n in english_errors(source)]
    assert not found, "English errors stored (store a code beside the text): " + str(found)


def test_the_checker_tells_english_from_codes() -> None:
    source = (
        "def f(x):\n"
        "    if x == 1:\n"
        "        raise NotFound(f'record {x} not found')\n"
        "    if x == 2:\n"
        "        raise NotFound.of('record_not_found', None, id=x)\n"
        "    if x == 3:\n"
        "        raise FieldValueError('read-only field', 'read_only_field')\n"
    )
    assert english_raises(source) == [3]
    assert english_raises("# english-ok: a bug guard\n" + source) == []


def test_coded_packages_raise_no_english_sentences() -> None:
    found = []
    for name in CODED:
        path = ROOT / name
        for module in sorted(path.rglob("*.py")) if path.is_dir() else [path]:
            if str(module.relative_to(ROOT)) in PENDING:
                continue
            source = module.read_text(encoding="utf-8")
            found += [f"{module.relative_to(ROOT)}:{n}" for n in english_raises(source)]
    assert not found, "English error texts (raise a code, or mark english-ok): " + str(found)
