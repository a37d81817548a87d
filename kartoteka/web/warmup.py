"""Work the first visit of each page would otherwise do, done once when the server starts.

A page's first request compiles its Jinja2 templates (its layout, includes and macros)
and the first request in a language reads that language's catalog: 40 ms to a second on
the loaded test VM, against 5–15 ms for the same page afterwards. Every designer page is
usually visited once while an administrator builds something, so each of them paid it
(bench/bench_admin_ui.py). The server does it in a background thread at start-up;
requests meanwhile simply do their own part as before.
"""

from __future__ import annotations

import logging
import threading
import time

from . import i18n
from .pages import templates

log = logging.getLogger(__name__)


def warm_up() -> float:
    """Compile every template and read every language's catalog; returns the seconds it took."""
    started = time.perf_counter()
    for lang in i18n.LANGUAGES:
        i18n.translations(lang)
    env = templates()
    for name in env.list_templates(extensions=["html"]):
        env.get_template(name)
    return time.perf_counter() - started


def _run() -> None:
    try:
        took = warm_up()
    except Exception:  # a broken template shows on its own page, as before
        log.exception("warming up the web templates failed")
        return
    log.debug("web templates compiled in %.2f s", took)


def start() -> threading.Thread:
    """Warm up in a daemon thread (the server answers meanwhile)."""
    thread = threading.Thread(target=_run, name="kartoteka-web-warm-up", daemon=True)
    thread.start()
    return thread
