"""A new administrator builds the insurer example of docs/rights.md in the browser.

One person's afternoon, in Russian, on the desktop: the catalogs Clients and Policies
with a link, a select with colours, a phone and a money field (catalog and field
designers); a group and a regional user with a profile key (users screens); the rights
rule by `$user.region` with a masked phone and a hidden field (rights designer); 1,000
clients from a Windows-1251 `;` CSV through the import wizard (a dry run first, then
the import with its progress bar); a notify webhook to a loopback receiver and its
delivery in the log; "see as" the regional user; then she signs in and sees what the
rule leaves her. axe-core checks every screen passed through; the REST API is used
only to check what the screens saved and what a user receives. The steps live in
tests/support/admin_flow.py (bench/bench_admin_ui.py times the same steps).
"""

from __future__ import annotations

import pytest
from support import admin_flow as flow
from support.browser import CHROMIUM, DESKTOP, Watch, sign_in
from support.imports import csv_bytes

pytestmark = [
    pytest.mark.skipif(not CHROMIUM.exists(), reason="/usr/bin/chromium is missing"),
]


def test_a_new_administrator_builds_the_insurer_crm_in_the_browser(
    server, browser, instance, receiver, tmp_path
):
    rows = flow.client_rows()
    path = tmp_path / "клиенты.csv"
    path.write_bytes(csv_bytes(rows, ";", "cp1251"))
    context = browser.new_context(viewport=DESKTOP, locale="ru-RU")
    page = context.new_page()
    watch = Watch(page)
    sign_in(page, server)
    page.goto(server + "/?lang=ru")
    flow.catalogs(page, server)
    group = flow.group_and_regional_user(page, server)
    flow.rights(page, server, group)
    flow.import_clients(page, server, path, rows)
    flow.notify_webhook(page, server, instance, receiver)
    flow.see_as(page, server, flow.anna_should_see(rows) + 1)
    flow.what_anna_sees(page, server, flow.anna_should_see(rows))
    watch.check()
    context.close()
