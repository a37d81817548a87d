"""Words, stems and queries: the one analyzer both databases' indexes are built with.

Text is folded (lower case, ё as е), split into words of letters and digits, and each
word is reduced to its stem by the Snowball stemmers (PyStemmer): Russian for words
with Cyrillic letters, English for Latin ones, digits kept as they are. These are the
algorithms of PostgreSQL's `russian` and `english` configurations; running them here
makes SQLite and PostgreSQL find exactly the same records (decision 0018).
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from typing import Any

import Stemmer

from kartoteka import messages
from kartoteka.storage.fulltext import Clause, fold_text

#: Bumped when what the index stores changes (the analyzer's output, the tables' layout):
#: every index is then rebuilt.
VERSION = 4
MAX_TOKEN = 60
MAX_QUERY = 500
MAX_CLAUSES = 16
#: Words are runs of letters and digits; "_" is a separator (replaced before the scan,
#: because `\w+` is twice as fast as `[^\W_]+`).
WORD = re.compile(r"\w+")
SNIPPET_WORD = re.compile(r"[^\W_]+")
#: Joins the texts of a batch: a letter (so the scan keeps it as a word of its own)
#: that both stemmers leave alone and that texts never keep (it is replaced in them).
SEPARATOR = "\u01c2"
QUERY_PART = re.compile(r'"([^"]*)"(\*?)|([^\s"]+)')

_russian = Stemmer.Stemmer("russian")
_english = Stemmer.Stemmer("english")


class QueryError(ValueError):
    """A search query that cannot be run: a code of `kartoteka.messages.search` with its
    parameters (the English text is the exception's message)."""

    def __init__(self, code: str, **params: Any) -> None:
        self.code = code
        self.params = params
        super().__init__(messages.message(code, params))


#: folded word -> its stem, kept across calls: a catalog's texts repeat a vocabulary far
#: smaller than their words (a rebuild of 100,000 records meets ~3,000,000 words, a
#: few thousand distinct). Emptied when it grows past `CACHE_SIZE` words.
_stem_of: dict[str, str] = {}
CACHE_SIZE = 200_000


def _learn(found: list[str]) -> None:
    """Stem the words of `found` not in the cache yet, and remember them."""
    new = list(set(found).difference(_stem_of))
    if not new:
        return
    if len(_stem_of) + len(new) > CACHE_SIZE:
        _stem_of.clear()
    # Each stemmer leaves the other alphabet alone (Russian suffix rules never match
    # Latin letters and English ones never match Cyrillic), so running both over the
    # list stems every word by its language in two C calls.
    stemmed: list[str] = _english.stemWords(_russian.stemWords(new))
    _stem_of.update(zip(new, (s[:MAX_TOKEN] for s in stemmed), strict=True))


def stems(found: list[str]) -> list[str]:
    """Stems of folded words, in order (each distinct word stemmed once, then cached)."""
    _learn(found)
    try:
        return list(map(_stem_of.__getitem__, found))
    except KeyError:  # another thread emptied the cache meanwhile
        return [_stem_of.get(w) or stem_uncached(w) for w in found]


def stem_uncached(word: str) -> str:
    """The stem of one folded word, by the stemmers alone."""
    return str(_english.stemWord(_russian.stemWord(word)))[:MAX_TOKEN]


def stem(word: str) -> str:
    """The stem of one folded word."""
    return stems([word])[0]


def words(text: str) -> list[str]:
    """Folded words of a text (ё as е, lower case)."""
    return WORD.findall(fold_text(text, True).replace("_", " "))


def tokens(text: str) -> list[str]:
    """The stems a text is indexed under, in order."""
    return stems(words(text))


def joined_tokens_many(texts: list[str]) -> list[str]:
    """Each text's stems joined by spaces (what the index stores), a whole batch at once.

    The texts are joined with a separator the word pattern also matches (and both
    stemmers leave alone): one fold, one regex scan and one stemming pass, a few C
    calls for thousands of values.
    """
    if not texts:
        return []
    joined = f" {SEPARATOR} ".join(texts)
    if joined.count(SEPARATOR) != len(texts) - 1:  # a text holds the separator itself
        joined = f" {SEPARATOR} ".join(t.replace(SEPARATOR, " ") for t in texts)
    found = WORD.findall(fold_text(joined, True).replace("_", " "))
    return [piece.strip() for piece in " ".join(stems(found)).split(SEPARATOR)]


def _prefix_token(word: str) -> str:
    # "ромашка*" must find "ромашковый": the stem ("ромашк") when it is a prefix of the
    # typed word, the typed word otherwise ("ромаш" has no shorter stem).
    stemmed = stem(word)
    return stemmed if word.startswith(stemmed) else word[:MAX_TOKEN]


def _clause(text: str, prefix: bool) -> Clause | None:
    found = words(text)
    if not found:
        return None
    stemmed = stems(found)
    if prefix:
        stemmed[-1] = _prefix_token(found[-1])
    return Clause(tuple(stemmed), prefix)


def parse_query(text: object) -> list[Clause]:
    """Words (all must match), "phrases in quotes" and prefixes (`Ромаш*`) to clauses."""
    if not isinstance(text, str):
        raise QueryError("search_not_text")
    if len(text) > MAX_QUERY:
        raise QueryError("search_too_long", max=MAX_QUERY)
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
        raise QueryError("search_no_words")
    if len(clauses) > MAX_CLAUSES:
        raise QueryError("search_too_many_parts", max=MAX_CLAUSES)
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
        found = list(WORD.finditer(text))
        stemmed = stems([fold_text(m.group(), True) for m in found])
        spans = [
            (m.start(), m.end())
            for m, s in zip(found, stemmed, strict=True)
            if s in wanted or (prefixes and s.startswith(prefixes))
        ]
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
