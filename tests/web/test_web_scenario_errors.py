"""The run viewer and the runs list show why a step (and so the run) failed in the
reader's language (from the code and parameters the step recorded), not in the English
it was recorded with."""

from __future__ import annotations

from support.scenarios import scenario
from support.web import sign_in


def test_the_run_viewer_shows_a_step_failure_in_the_readers_language(api, web):
    sc = scenario(
        api,
        {
            "name": "No record",
            "trigger": {"type": "manual"},
            "steps": [{"type": "update_record", "values": {"note": "x"}}],
        },
    )
    r = api.post(f"/scenarios/{sc['id']}/run", {"test": True})
    assert r.status_code == 200 and r.json()["status"] == "failed", r.text
    sign_in(web)
    page = f"/admin/scenarios/{sc['id']}/runs/{r.json()['id']}"
    ru = web.get(f"{page}?lang=ru").text
    assert "нет каталога: укажите `catalog` (у запуска нет записи)" in ru
    en = web.get(f"{page}?lang=en").text
    assert "no catalog: give `catalog` (this run has no record)" in en
    listing = web.get(f"/admin/scenarios/{sc['id']}/runs?lang=ru")
    assert listing.status_code == 200
    # The run's own summary, in the runs list too, in the reader's language.
    summary = "шаг steps[0] (update_record): нет каталога: укажите `catalog`"
    assert summary in listing.text and "data-run-error" in listing.text
    english = web.get(f"/admin/scenarios/{sc['id']}/runs?lang=en").text
    assert "steps[0] (update_record): no catalog: give `catalog`" in english
