"""Search over HTTP: settings, the records list's `search`, the workspace-wide search."""

from __future__ import annotations


def test_settings_api_validates_fold_yo(api) -> None:
    assert api.get("/settings").json()["fold_yo"] is True
    bad = api.patch("/settings", {"fold_yo": "yes"})
    assert bad.status_code == 422 and bad.json()["error"] == "VALIDATION"
    assert api.patch("/settings", {"fold_yo": False}).json()["fold_yo"] is False
