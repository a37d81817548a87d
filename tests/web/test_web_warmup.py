"""The server compiles the web templates when it starts, so no page's first visit pays it."""

from __future__ import annotations

from kartoteka.web import i18n, warmup
from kartoteka.web.pages import templates


def test_warm_up_compiles_every_template_and_reads_every_catalog():
    warmup.warm_up()
    env = templates()
    names = env.list_templates(extensions=["html"])
    assert len(names) > 50
    keys = env.cache.keys()  # type: ignore[union-attr]
    cached = {key[1] for key in keys}
    assert set(names) <= cached
    assert i18n.translations.cache_info().currsize >= len(i18n.LANGUAGES)  # type: ignore[attr-defined]


def test_the_server_starts_it(app, monkeypatch):
    from starlette.testclient import TestClient

    started = []
    monkeypatch.setattr(warmup, "start", lambda: started.append(True))
    with TestClient(app) as client:
        assert client.get("/healthz").status_code == 200
    assert started == [True]
