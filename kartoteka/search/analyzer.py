"""Words, stems and queries: the one analyzer both databases' indexes are built with.

Text is folded (lower case, ё as е), split into words of letters and digits, and each
word is reduced to its stem by the Snowball stemmers (PyStemmer): Russian for words
with Cyrillic letters, English for Latin ones, digits kept as they are. These are the
algorithms of PostgreSQL's `russian` and `english` configurations; running them here
makes SQLite and PostgreSQL find exactly the same records (decision 0012).
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass

import Stemmer

from kartoteka.storage.fulltext import Clause, fold_text

#: Bumped when the analyzer changes what it stores: every index is then rebuilt.
VERSION = 1
MAX_TOKEN = 60
MAX_QUERY = 500
MAX_CLAUSES = 16
WORD = re.compile(r"[^\W_]+")
CYRILLIC = re.compile(r"[а-я]")
LATIN = re.compile(r"[a-z]")
QUERY_PART = re.compile(r'"([^"]*)"(\*?)|([^\s"]+)')

_russian = Stemmer.Stemmer("russian")
_english = Stemmer.Stemmer("english")


class QueryError(ValueError):
    """A search query that cannot be run; the message says why."""


def stem(word: str) -> str:
    """The stem of one folded word (Russian or English by its letters)."""
    if CYRILLIC.search(word):
        return str(_russian.stemWord(word))[:MAX_TOKEN]
    if LATIN.search(word):
        return str(_english.stemWord(word))[:MAX_TOKEN]
    return word[:MAX_TOKEN]


def words(text: str) -> list[str]:
    """Folded words of a text (ё as е, lower case)."""
    return WORD.findall(fold_text(text, True))


def tokens(text: str) -> list[str]:
    """The stems a text is indexed under, in order."""
    return [stem(w) for w in words(text)]


def _prefix_token(word: str) -> str:
    # "ромашка*" must find "ромашковый": the stem ("ромашк") when it is a prefix of the
    # typed word, the typed word otherwise ("ромаш" has no shorter stem).
    stemmed = stem(word)
    return stemmed if word.startswith(stemmed) else word[:MAX_TOKEN]


def _clause(text: str, prefix: bool) -> Clause | None:
    found = words(text)
    if not found:
        return None
    stems = [stem(w) for w in found]
    if prefix:
        stems[-1] = _prefix_token(found[-1])
    return Clause(tuple(stems), prefix)


def parse_query(text: object) -> list[Clause]:
    """Words (all must match), "phrases in quotes" and prefixes (`Ромаш*`) to clauses."""
    if not isinstance(text, str):
        raise QueryError("search must be a string")
    if len(text) > MAX_QUERY:
        raise QueryError(f"search is longer than {MAX_QUERY} characters")
    clauses: list[Clause] = []
    for match in QUERY_PART.finditer(text):
        phrase, star, bare = match.groups()
        if bare is not None:
            clause = _clause(bare.rstrip("*"), bare.endswith("*"))
        else:
            clause = _clause(phrase, star == "*")
        if clause is not None and clause not in clauses:
            clauses.append(clause)
    if not clauses:
        raise QueryError("search needs at least one word of letters or digits")
    if len(clauses) > MAX_CLAUSES:
        raise QueryError(f"search takes at most {MAX_CLAUSES} words and phrases")
    return clauses


@dataclass(frozen=True)
class Snippet:
    """A short piece of a field's text around the first match, HTML-escaped with <mark>."""

    field: str
    html: str


def snippet(
    texts: list[tuple[str, str]], clauses: list[Clause], width: int = 160
) -> Snippet | None:
    """The first (api_name, text) whose words match a clause, cut around the match."""
    wanted = {t for c in clauses for t in c.tokens}
    prefixes = tuple(c.tokens[-1] for c in clauses if c.prefix)
    for api_name, text in texts:
        spans = []
        for m in WORD.finditer(text):
            s = stem(fold_text(m.group(), True))
            if s in wanted or (prefixes and s.startswith(prefixes)):
                spans.append((m.start(), m.end()))
        if spans:
            return Snippet(api_name, _cut(text, spans, width))
    return None


def _cut(text: str, spans: list[tuple[int, int]], width: int) -> str:
    start = max(0, spans[0][0] - width // 3)
    end = min(len(text), start + width)
    out, pos = [], start
    for a, b in spans:
        if a < start or b > end:
            continue
        out += [html.escape(text[pos:a]), "<mark>", html.escape(text[a:b]), "</mark>"]
        pos = b
    out.append(html.escape(text[pos:end]))
    lead = "…" if start > 0 else ""
    tail = "…" if end < len(text) else ""
    return lead + "".join(out).strip() + tail
