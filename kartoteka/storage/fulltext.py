"""Text folding and full-text search: the SQL that differs between SQLite and PostgreSQL.

Folding is what case-insensitive comparisons compare: the text in lower case and,
where the workspace folds ё (the default), with ё written as е. Python's
`str.lower` and PostgreSQL's `lower()` (UTF-8 database) agree on Cyrillic and Latin;
SQLite's own `lower()` folds ASCII only, so a SQLite connection gets the Python
function registered as `kt_fold`.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement


def fold_text(text: str, yo: bool = True) -> str:
    """Lower case, and ё as е when `yo`: the form case-insensitive comparisons use."""
    low = text.lower()
    return low.replace("ё", "е") if yo else low


def _sqlite_fold(value: Any, yo: Any) -> Any:
    if not isinstance(value, str):
        return value
    return fold_text(value, bool(yo))


def register_sqlite_functions(dbapi_connection: Any) -> None:
    """Install `kt_fold(text, yo)` on a new SQLite connection (deterministic: indexable)."""
    dbapi_connection.create_function("kt_fold", 2, _sqlite_fold, deterministic=True)


class folded(FunctionElement[str]):
    """SQL: the folded form of a text expression (ё kept apart from е)."""

    type = sa.Text()
    name = "kt_fold"
    inherit_cache = True
    yo = False


class folded_yo(folded):
    """SQL: the folded form of a text expression, with ё as е."""

    name = "kt_fold_yo"
    inherit_cache = True
    yo = True


@compiles(folded)
def _fold_sqlite(element: folded, compiler: SQLCompiler, **kw: Any) -> str:
    arg = compiler.process(element.clauses, **kw)
    return f"kt_fold({arg}, {1 if element.yo else 0})"


@compiles(folded, "postgresql")
def _fold_pg(element: folded, compiler: SQLCompiler, **kw: Any) -> str:
    arg = compiler.process(element.clauses, **kw)
    if element.yo:
        return f"translate(lower({arg}), 'ё', 'е')"
    return f"lower({arg})"


def fold_sql(expr: Any, yo: bool) -> folded:
    """The folded form of `expr` in SQL, matching `fold_text` on both dialects."""
    return folded_yo(expr) if yo else folded(expr)


def like_escape(text: str) -> str:
    """Escape LIKE wildcards (the escape character is a backslash)."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
