"""Regenerate docs/screenshots/: every main screen, desktop (1366x850) and phone (390x844),
in Russian and in English, from a fresh demo instance served on a loopback port.

    PYTHONPATH=. .venv/bin/python scripts/screenshots.py [--only ru] [--out docs/screenshots]

Needs Debian's chromium (scripts/install-browser.sh) and the built UI assets.
"""

from __future__ import annotations

import argparse
import io
import math
import os
import socket
import struct
import tempfile
import threading
import time
import wave
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from PIL import Image, ImageDraw

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
EMAIL, PASSWORD = "admin@example.com", "demo-password-123"
DESKTOP = {"width": 1366, "height": 850}
PHONE = {"width": 390, "height": 844}
#: The browser locale of each language's screenshots (dates as 21.11.2026 and 21/11/2026).
LOCALES = {"ru": "ru-RU", "en": "en-GB"}

TEXT = {
    "ru": {
        "clients": "Клиенты",
        "deals": "Сделки",
        "name": "Название",
        "phone": "Телефон",
        "email": "Почта",
        "city": "Город",
        "title": "Сделка",
        "client": "Клиент",
        "stage": "Этап",
        "amount": "Сумма",
        "due": "Срок",
        "owner": "Ответственный",
        "start": "Начало",
        "end": "Окончание",
        "photos": "Фото объекта",
        "call": "Запись звонка",
        "done": "Оплачено",
        "notes": "Заметки",
        "stages": ["Новая", "Переговоры", "Договор", "Выиграна", "Проиграна"],
        "cities": ["Москва", "Казань", "Новосибирск", "Екатеринбург", "Самара"],
        "companies": [
            "ООО «Ромашка»",
            "АО «Север»",
            "ИП Смирнов",
            "ООО «Вектор-Строй»",
            "ЗАО «Грань»",
            "ООО «Пекарня у дома»",
            "ТК «Меридиан»",
            "ООО «Лесоторг»",
        ],
        "deal": ["Поставка", "Монтаж", "Обслуживание", "Аренда", "Проект"],
        "pipeline": "Воронка",
        "calendar": "Календарь",
        "timeline": "План работ",
        "gallery": "Галерея",
        "manager": "Анна Петрова",
        "stage_help": "Где сейчас сделка: от первого звонка до договора",
        "comment": "Клиент просит перезвонить в пятницу.",
    },
    "en": {
        "clients": "Clients",
        "deals": "Deals",
        "name": "Name",
        "phone": "Phone",
        "email": "Email",
        "city": "City",
        "title": "Deal",
        "client": "Client",
        "stage": "Stage",
        "amount": "Amount",
        "due": "Due",
        "owner": "Owner",
        "start": "Start",
        "end": "End",
        "photos": "Site photos",
        "call": "Call recording",
        "done": "Paid",
        "notes": "Notes",
        "stages": ["New", "Negotiation", "Contract", "Won", "Lost"],
        "cities": ["London", "Leeds", "Bristol", "York", "Bath"],
        "companies": [
            "Acme Ltd",
            "Northwind",
            "Smith & Sons",
            "Vector Build",
            "Facet Group",
            "Corner Bakery",
            "Meridian Trading",
            "Timber Co",
        ],
        "deal": ["Supply", "Installation", "Service", "Lease", "Project"],
        "pipeline": "Pipeline",
        "calendar": "Calendar",
        "timeline": "Timeline",
        "gallery": "Gallery",
        "manager": "Anna Peters",
        "stage_help": "Where the deal stands, from the first call to the contract",
        "comment": "The client asks to call back on Friday.",
    },
}
COLORS = ["blue", "orange", "purple", "green", "red"]


def picture(seed: int) -> bytes:
    """A small PNG "photo" (a coloured scene) made on the spot."""
    img = Image.new("RGB", (640, 480), (200 - seed * 20 % 120, 215, 235))
    draw = ImageDraw.Draw(img)
    draw.rectangle((0, 330, 640, 480), fill=(90 + seed * 30 % 100, 150, 90))
    draw.polygon([(120, 330), (260, 170), (400, 330)], fill=(160, 80 + seed * 25 % 120, 70))
    draw.ellipse((470, 50, 560, 140), fill=(250, 210, 80))
    out = io.BytesIO()
    img.save(out, "PNG")
    return out.getvalue()


def sound() -> bytes:
    """One second of a quiet tone as WAV (a stand-in for a call recording)."""
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(8000)
        frames = b"".join(
            struct.pack("<h", int(3000 * math.sin(2 * math.pi * 440 * i / 8000)))
            for i in range(8000)
        )
        w.writeframes(frames)
    return out.getvalue()


@contextmanager
def serve(data_dir: Path) -> Iterator[str]:
    """A fresh instance served by uvicorn on a free loopback port."""
    from kartoteka.server import create_app
    from kartoteka.config import Settings
    from kartoteka.workspaces.service import Instance

    settings = Settings(
        data_dir=data_dir,
        admin_email=EMAIL,
        admin_password=PASSWORD,
        run_worker=True,
        workspaces_ui="backup",
        # The demo webhook calls a closed loopback port: its log shows failed attempts.
        webhook_allow_private=True,
    )
    instance = Instance(settings)
    instance.init()
    app = create_app(settings, instance)
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(10)
        instance.close()


def seed(base: str, lang: str) -> dict[str, Any]:
    """Clients, deals with every kind of field, four views, a second user, a comment."""
    t = TEXT[lang]
    api = httpx.Client(base_url=base + "/api/v1", timeout=60)
    token = api.post("/auth/login", json={"email": EMAIL, "password": PASSWORD}).json()["token"]
    api.headers["Authorization"] = f"Bearer {token}"
    api.patch("/users/1", json={"name": "Мария Иванова" if lang == "ru" else "Mary Evans"})
    manager = api.post(
        "/users",
        json={"email": "anna@example.com", "name": t["manager"], "password": "anna-pass-123"},
    ).json()
    clients = api.post(
        "/catalogs",
        json={
            "name": t["clients"],
            "api_name": "clients",
            "fields": [
                {"name": t["name"], "api_name": "name", "type": "text", "required": True},
                {"name": t["phone"], "api_name": "phone", "type": "phone"},
                {"name": t["email"], "api_name": "email", "type": "email"},
                {"name": t["city"], "api_name": "city", "type": "text"},
            ],
        },
    ).json()
    rows = [
        {
            "values": {
                "name": n,
                "phone": f"+7912{i:07d}",
                "email": f"office{i}@example.com",
                "city": t["cities"][i % 5],
            }
        }
        for i, n in enumerate(t["companies"])
    ]
    client_ids = api.post("/catalogs/clients/records/batch", json={"create": rows}).json()[
        "created"
    ]
    stages = [{"label": s, "color": c} for s, c in zip(t["stages"], COLORS, strict=True)]
    api.post(
        "/catalogs",
        json={
            "name": t["deals"],
            "api_name": "deals",
            "fields": [
                {"name": t["title"], "api_name": "title", "type": "text", "required": True},
                {
                    "name": t["client"],
                    "api_name": "client",
                    "type": "link",
                    "options": {"catalog": clients["id"]},
                },
                {
                    "name": t["stage"],
                    "api_name": "stage",
                    "type": "select",
                    "options": {
                        "choices": stages,
                        "default": stages[0]["label"],
                        "help": t["stage_help"],
                    },
                },
                {"name": t["amount"], "api_name": "amount", "type": "money"},
                {"name": t["due"], "api_name": "due", "type": "date"},
                {
                    "name": t["owner"],
                    "api_name": "owner",
                    "type": "user",
                    "options": {"default": "me"},
                },
                {"name": t["start"], "api_name": "start", "type": "date"},
                {"name": t["end"], "api_name": "end", "type": "date"},
                {"name": t["photos"], "api_name": "photos", "type": "file"},
                {"name": t["call"], "api_name": "call", "type": "file"},
                {"name": t["done"], "api_name": "done", "type": "checkbox"},
                {"name": t["notes"], "api_name": "notes", "type": "long_text"},
            ],
        },
    )
    photo_ids = [
        api.post("/files", files={"file": (f"photo{i}.png", picture(i), "image/png")}).json()["id"]
        for i in range(6)
    ]
    call_id = api.post("/files", files={"file": ("call.wav", sound(), "audio/wav")}).json()["id"]
    today = date.today()
    deals = []
    for i in range(36):
        start = today + timedelta(days=(i * 3) % 28 - 8)
        values: dict[str, Any] = {
            "title": f"{t['deal'][i % 5]} · {t['companies'][i % 8]}",
            "client": [client_ids[i % 8]],
            "stage": t["stages"][i % 5],
            "amount": 15000 + (i * 7919) % 480000,
            "due": (today + timedelta(days=(i * 5) % 40 - 12)).isoformat(),
            "owner": 1 if i % 3 else manager["id"],
            "start": start.isoformat(),
            "end": (start + timedelta(days=2 + i % 9)).isoformat(),
            "done": i % 4 == 0,
        }
        if i < 6:
            values["photos"] = [photo_ids[i], photo_ids[(i + 1) % 6]]
        deals.append({"values": values})
    api.post("/catalogs/deals/records/batch", json={"create": deals})
    api.post("/catalogs/deals/records/1/comments", json={"text": t["comment"]})
    api.patch("/catalogs/deals/records/1", json={"values": {"call": [call_id], "amount": 250000}})
    views = {}
    for name, kind, options in (
        (t["pipeline"], "kanban", {"group_field": "stage", "sum_field": "amount"}),
        (t["calendar"], "calendar", {"date_field": "due"}),
        (t["timeline"], "gantt", {"start_field": "start", "end_field": "end"}),
        (t["gallery"], "gallery", {}),
    ):
        body = {"name": name, "type": kind, "options": options}
        if kind == "gallery":
            body["filter"] = {"photos": {"empty": False}}
        views[kind] = api.post("/catalogs/deals/views", json=body).json()["id"]
    duplicate_clients(api, lang)
    return views


def duplicate_clients(api: httpx.Client, lang: str) -> None:
    """Two clients entered again with their phone typed another way, then a rule on the
    phone: the duplicates page shows two groups."""
    t = TEXT[lang]
    again = [
        {"name": t["companies"][0].replace("ООО ", "").replace("LLC ", ""),
         "phone": "8 (912) 000-00-00", "city": t["cities"][1]},
        {"name": t["companies"][1] + (" (филиал)" if lang == "ru" else " (branch)"),
         "phone": "+7 912 000 00 01", "email": "branch@example.com"},
    ]  # fmt: skip
    api.post("/catalogs/clients/records/batch", json={"create": [{"values": v} for v in again]})
    rule = {"name": t["phone"], "fields": [{"field": "phone", "normalise": "phone"}]}
    api.post("/catalogs/clients/duplicate-rules", json=rule)


def shrink(path: Path) -> None:
    """A 256-colour PNG: a third of the size, and screens of flat colours look the same."""
    with Image.open(path) as img:
        small = img.convert("RGB").quantize(colors=256, method=Image.Quantize.MEDIANCUT)
    small.save(path, optimize=True)


def shoot(base: str, lang: str, views: dict[str, int], out: Path) -> list[Path]:
    """Sign in and capture each screen at both sizes."""
    from playwright.sync_api import sync_playwright

    taken: list[Path] = []
    with sync_playwright() as pw:
        # Playwright's locale reaches navigator.language and Intl, but chromium draws native
        # date inputs in the language of its process (LANGUAGE, with chromium-l10n
        # installed): without it a Russian screen showed dates as 11/21/2026.
        locale = LOCALES[lang]
        env = {**os.environ, "LANGUAGE": locale.replace("-", "_")}
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, env=env)
        for device, size in (("desktop", DESKTOP), ("phone", PHONE)):
            context = browser.new_context(
                viewport=size,
                locale=locale,
                device_scale_factor=1,
                is_mobile=device == "phone",
                has_touch=device == "phone",
            )
            page = context.new_page()

            def snap(name: str) -> None:
                page.wait_for_timeout(400)
                path = out / f"{lang}-{device}-{name}.png"
                page.screenshot(path=str(path))
                shrink(path)
                taken.append(path)

            page.goto(base + "/login")
            snap("login")
            page.fill("#email", EMAIL)
            page.fill("#password", PASSWORD)
            page.click("button[type=submit]")
            page.wait_for_url(base + "/")
            snap("home")
            page.goto(base + "/c/deals")
            page.wait_for_selector(".tabulator-row" if device == "desktop" else "table.records")
            snap("grid")
            if device == "desktop":
                page.click("[data-grid-filter]")
                page.click("[data-add]")
                page.select_option(".condition [name=field]", "due")
                page.select_option(".condition [name=op]", "between")
                page.fill(".condition [name=from]", "-7d")
                page.fill(".condition [name=to]", "+7d")
                snap("grid-filter")
                page.click(".filter-form button[type=submit]")
                page.goto(base + "/c/deals")
                page.wait_for_selector(".tabulator-row")
                page.click(".tabulator-row >> nth=0 >> a[data-open-record] >> nth=0")
                page.wait_for_selector("#panel [data-card]")
                snap("card-panel")
                page.keyboard.press("Escape")
                for i in range(3):
                    page.locator(".tabulator-row .select-col input").nth(i).check()
                page.click("[data-grid-bulk]")
                page.select_option("[data-bulk-field]", "stage")
                snap("grid-bulk")
                page.keyboard.press("Escape")
                page.goto(base + "/c/deals")
                page.wait_for_selector(".tabulator-row")
                page.click(".tabulator-col[tabulator-field=stage] .col-menu-button")
                page.wait_for_selector(".col-menu")
                snap("grid-column-menu")
                page.keyboard.press("Escape")
                page.goto(base + "/c/deals")
                page.wait_for_selector(".tabulator-row")
                page.select_option("[data-grid-group]", "stage")
                page.wait_for_selector(".tabulator-group [data-group-count]")
                snap("grid-grouped")
                page.click("[data-grid-save-as]")
                page.fill("[data-view-name]", TEXT[lang]["stage"])
                snap("grid-save-view")
                page.keyboard.press("Escape")
            page.goto(base + "/c/deals/api")
            snap("api")
            if device == "desktop":
                page.goto(base + "/search?q=" + ("поставка" if lang == "ru" else "supply"))
                snap("search")
            page.goto(base + "/c/deals/r/1")
            page.wait_for_selector("[data-card]")
            snap("card")
            if device == "phone":
                page.click("[data-toggle-sidebar]")
                snap("menu")
            for kind, view_id in views.items():
                page.goto(f"{base}/c/deals?view={view_id}")
                page.wait_for_load_state("networkidle")
                snap(kind)
                if kind == "calendar":
                    page.goto(f"{base}/c/deals?view={view_id}&mode=week")
                    page.wait_for_load_state("networkidle")
                    snap("calendar-week")
            designers(page, base, snap)
            people(page, base, snap)
            integrations(page, base, snap, lang)
            scenarios(page, base, snap, lang)
            notifications_and_processes(page, base, snap, lang)
            duplicates(page, base, snap)
            context.close()
        browser.close()
    return taken


def integrations(page: Any, base: str, snap: Any, lang: str) -> None:
    """Webhooks (designer, a webhook with its failing delivery log) and the import wizard
    (columns suggested from a Windows-1251 file, the dry run's report)."""

    def designer() -> None:
        page.goto(base + "/admin/webhooks/new")
        page.wait_for_selector("[data-filter-host] form")
        page.select_option("#wh-catalog", "deals")
        page.fill("#wh-url", "http://127.0.0.1:9/crm-bridge")

    designer()
    page.click("[data-filter-host] [data-add]")
    snap("webhook-new")
    page.goto(base + "/admin/webhooks")
    if not page.query_selector(".webhooks-table"):
        designer()
        page.click("button[form=webhook-form]")
        page.wait_for_selector("[data-secret]")
        snap("webhook-secret")
        # A change, so the log has a delivery (to a closed port: it fails and retries).
        httpx.post(
            base + "/api/v1/catalogs/deals/records",
            json={"values": {"title": "Webhook demo"}},
            auth=(EMAIL, PASSWORD),
        )
        time.sleep(2)
    page.goto(base + "/admin/webhooks")
    snap("webhooks")
    page.click("td.url a")
    page.click("text=" + ("Отправить тестовое событие" if lang == "ru" else "Send a test event"))
    page.wait_for_selector("[data-test-result]")
    snap("webhook")
    head = (
        ["Название", "Телефон", "Почта", "Город"]
        if lang == "ru"
        else ["Name", "Phone", "E-mail", "City"]
    )
    rows = [head] + [
        [
            f"{TEXT[lang]['companies'][i % 5]} {i}",
            f"+7913{i:07}",  # new clients: none duplicates a seeded one's phone
            "x" if i == 3 else f"c{i}@example.com",
            TEXT[lang]["cities"][i % 5],
        ]
        for i in range(40)
    ]
    data = "\n".join(";".join(r) for r in rows).encode("cp1251")
    page.goto(base + "/c/clients/import")
    snap("import-file")
    page.set_input_files(
        "[data-file]", files=[{"name": "clients.csv", "mimeType": "text/csv", "buffer": data}]
    )
    page.wait_for_selector("[data-step=columns]:not([hidden])")
    snap("import-columns")
    page.click("[data-dry-run]")
    page.wait_for_selector("[data-run]:not([disabled])")
    snap("import-check")


def scenario_demo(base: str, lang: str) -> tuple[int, int]:
    """A scenario with branches, a wait and a webhook call, and one test run of it."""
    ru = lang == "ru"
    won = TEXT[lang]["stages"][3]
    body = {
        "name": "Сделка выиграна: задача и счёт" if ru else "Deal won: task and invoice",
        "description": "Крупные сделки — в бухгалтерию" if ru else "Big deals go to accounting",
        "trigger": {
            "type": "record.updated",
            "catalog": "deals",
            "fields": ["stage"],
            "filter": {"stage": {"eq": won}},
        },
        "steps": [
            {
                "type": "condition",
                "id": "big",
                "filter": {"amount": {"gt": 100000}},
                "then": [
                    {
                        "type": "http",
                        "method": "POST",
                        "url": "https://books.example.com/invoices",
                        "json": {"deal": "{{ record.id }}", "amount": "{{ record.amount }}"},
                        "retry": {"attempts": 3, "delay": "PT1M"},
                        "into": "invoice",
                    },
                    {
                        "type": "notify",
                        "users": "{{ record.owner }}",
                        "title": "{{ record.title }}",
                    },
                ],
                "else": [{"type": "comment", "text": "{{ record.title }}: no invoice needed"}],
            },
            {"type": "wait", "duration": "P3D"},
            {
                "type": "email",
                "to": "office1@example.com",
                "subject": "{{ record.title }}",
                "text": "Thank you!",
            },
        ],
    }
    auth = (EMAIL, PASSWORD)
    made = httpx.post(base + "/api/v1/scenarios", json=body, auth=auth, timeout=30).json()
    httpx.post(
        base + "/api/v1/scenarios",
        json={
            "name": "Утренняя сводка" if ru else "Morning digest",
            "active": False,
            "trigger": {"type": "schedule", "cron": "0 9 * * 1-5"},
            "steps": [{"type": "find_records", "catalog": "deals", "into": "deals"}],
        },
        auth=auth,
        timeout=30,
    )
    run = httpx.post(
        f"{base}/api/v1/scenarios/{made['id']}/run",
        json={"record_id": 1, "test": True},
        auth=auth,
        timeout=60,
    ).json()
    return made["id"], run["id"]


def scenarios(page: Any, base: str, snap: Any, lang: str) -> None:
    """Scenarios: the list, the step editor, a test run's trace, the runs."""
    page.goto(base + "/admin/scenarios")
    if not page.query_selector(".scenarios-table"):
        scenario_demo(base, lang)
        page.goto(base + "/admin/scenarios")
    snap("scenarios")
    page.click(".scenarios-table td a")
    page.wait_for_selector(".scn-step")
    page.click('[data-step-toggle="steps[0]"]')
    page.locator(".scn-tree").scroll_into_view_if_needed()
    snap("scenario-editor")
    page.click(".scn-tabs a:nth-child(2)")
    snap("scenario-runs")
    page.click(".scn-runs td a")
    page.wait_for_selector("[data-trace]")
    snap("scenario-run")


def notifications_and_processes(page: Any, base: str, snap: Any, lang: str) -> None:
    """Issue 12: a manual scenario's run button and its notice in the bell's panel and on
    "My notifications"; the process designer on the deals' stage."""
    t = TEXT[lang]
    ru = lang == "ru"
    api = httpx.Client(base_url=base + "/api/v1", timeout=60, auth=(EMAIL, PASSWORD))
    name = "Отправить счёт" if ru else "Send the invoice"
    if not any(s["name"] == name for s in api.get("/scenarios").json()["items"]):
        title = "Счёт отправлен: {{ record.title }}" if ru else "Invoice sent: {{ record.title }}"
        note = "Проверьте оплату через 3 дня." if ru else "Check the payment in 3 days."
        step = {"type": "notify", "users": [1], "title": title, "message": note}
        body = {"name": name, "trigger": {"type": "manual", "catalog": "deals"}, "steps": [step]}
        made = api.post("/scenarios", json=body).json()
        # The demo server runs no scenario worker: test runs happen at once, and a notify
        # step (local, nothing leaves Kartoteka) posts its notices in test mode too.
        for record in (1, 2, 3):
            api.post(f"/scenarios/{made['id']}/run", json={"record_id": record, "test": True})
        api.post("/notices/1/read")
    page.goto(base + "/c/deals/r/1")
    page.wait_for_selector("[data-run-buttons]")
    snap("card-run-buttons")
    page.goto(base + "/")
    page.click(".bell-button")
    page.wait_for_selector("#bell-panel .notice, #bell-panel .empty")
    snap("bell")
    page.goto(base + "/notices")
    snap("notices")
    stages = t["stages"]
    process = {
        "initial": stages[:1],
        "transitions": [
            *({"from": a, "to": b} for a, b in zip(stages, stages[1:4], strict=False)),
            {"from": "*", "to": stages[4]},
        ],
        "required": {stages[2]: ["amount", "due"]},
    }
    api.put("/processes/deals/stage", json=process)
    page.goto(base + "/admin/catalogs/deals/processes/stage")
    snap("admin-process")
    api.delete("/processes/deals/stage")
    api.close()


def duplicates(page: Any, base: str, snap: Any) -> None:
    """The clients' duplicate rules, their groups, and the merge form of the first group."""
    page.goto(base + "/admin/catalogs/clients/duplicates")
    snap("admin-duplicate-rules")
    page.goto(base + "/admin/catalogs/clients/duplicates/new")
    snap("admin-duplicate-rule")
    page.goto(base + "/c/clients/duplicates")
    snap("duplicates")
    page.locator("[data-group] button[type=submit]").first.click()
    page.wait_for_selector("[data-merge-form]")
    snap("merge")


def designers(page: Any, base: str, snap: Any) -> None:
    """The administration screens: overview, catalogs, fields, a field, a type change's
    dry-run report and a deletion's confirmation."""
    page.goto(base + "/admin")
    snap("admin")
    page.goto(base + "/admin/catalogs")
    snap("admin-catalogs")
    page.goto(base + "/admin/catalogs/deals/fields")
    snap("admin-fields")
    page.goto(base + "/admin/catalogs/deals/fields/stage")
    snap("admin-field")
    page.locator("[data-default-editor]").scroll_into_view_if_needed()
    snap("admin-field-default")
    page.goto(base + "/admin/catalogs/deals/fields/new?type=link")
    snap("admin-field-new")
    page.goto(base + "/admin/catalogs/clients/fields/city")
    page.select_option("#f-type", "number")
    page.wait_for_selector("#f-type >> [value=number][selected]", state="attached")
    page.click("[data-field-form] button.primary")
    page.wait_for_selector(".convert-report")
    snap("admin-field-convert")
    page.goto(base + "/admin/catalogs/deals/views")
    snap("admin-views")
    page.locator(".field-list li .fl-name a").first.click()
    page.wait_for_selector("[data-view-form]")
    snap("admin-view")
    page.goto(base + "/admin/catalogs/clients/delete")
    snap("admin-catalog-delete")


def people(page: Any, base: str, snap: Any) -> None:
    """Users and groups, a user, the rights designer, "see as", settings, the security log,
    workspaces and one's own account."""
    page.goto(base + "/admin/users")
    snap("admin-users")
    page.goto(base + "/admin/users/2")
    snap("admin-user")
    page.goto(base + "/admin/users/groups")
    if page.locator(".group-list a").count() == 0:
        page.fill("#f-name", "Managers")
        page.click("form.inline-form button[type=submit]")
        page.check(".member-list input[value='2']")
        page.locator("form:has(input[name=action][value=add]) button[type=submit]").click()
    page.goto(base + "/admin/users/groups")
    snap("admin-groups")
    page.goto(base + "/admin/rights/deals")
    page.locator("details.group-rights").first.evaluate("d => d.open = true")
    page.locator("select[name$='.view.mode']").first.select_option("rule")
    builder = page.locator("[data-rule-builder]").first
    builder.locator("button[data-add]").click()
    builder.locator("select[name=field]").first.select_option("stage")
    snap("admin-rights")
    page.goto(base + "/admin/rights/deals/see-as?user=2")
    snap("admin-see-as")
    page.goto(base + "/settings")
    snap("admin-settings")
    page.goto(base + "/settings/security-log")
    snap("admin-security-log")
    page.goto(base + "/admin/workspaces")
    snap("admin-workspaces")
    page.goto(base + "/account")
    snap("account")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=["ru", "en"])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    for lang in [args.only] if args.only else ["ru", "en"]:
        with tempfile.TemporaryDirectory() as tmp, serve(Path(tmp)) as base:
            views = seed(base, lang)
            for path in shoot(base, lang, views, args.out):
                print(path.relative_to(ROOT) if path.is_relative_to(ROOT) else path)


if __name__ == "__main__":
    main()
