"""The analyzer: cached stems equal the stemmers' own, batches equal single texts."""

from __future__ import annotations

from kartoteka.search import analyzer


def test_cached_stems_equal_the_stemmers_and_batches_equal_single_texts(monkeypatch) -> None:
    words = ["договоры", "running", "ёлки", "a" * 90, "2026", "договоры", "flowers"]
    monkeypatch.setattr(analyzer, "_stem_of", {})
    monkeypatch.setattr(analyzer, "CACHE_SIZE", 4)  # emptied on the way
    first = analyzer.stems(words)
    assert first == [analyzer.stem_uncached(w) for w in words]
    assert analyzer.stems(words) == first and first[3] == "a" * analyzer.MAX_TOKEN
    texts = ["Договоры поставки", "", f"text with {analyzer.SEPARATOR} inside", "Ёлки running"]
    batch = analyzer.joined_tokens_many(texts)
    # The separator joining a batch is dropped from a text that holds it, nothing else.
    assert batch[2] == "text with insid"
    assert [b for i, b in enumerate(batch) if i != 2] == [
        " ".join(analyzer.tokens(t)) for i, t in enumerate(texts) if i != 2
    ]
    assert batch[0] == "договор поставк" and batch[1] == ""
