"""A designer page's first visit, with and without the start-up warm-up (issue 10).

Each designer page is usually opened once while an administrator builds something, so
its first visit is the one that counts. That visit used to compile the page's Jinja2
templates (and read the language's catalog on the very first page). The server now
does that in a background thread at start-up (`kartoteka.web.warmup`).

For each variant a fresh Python process serves a fresh instance in-process (Starlette's
test client, no network), signs in, makes a catalog and a user, then opens each page
three times: the first visit is what is measured; the third, the same page warm, is the
baseline measured in the same process. `--quick` opens fewer pages.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import ROOT, Results, parser

PAGES = [
    "/admin/users/2",
    "/admin/rights/clients",
    "/admin/catalogs/clients/fields",
    "/admin/catalogs/clients/fields/new",
    "/admin/catalogs/clients/views/new",
    "/admin/webhooks",
    "/c/clients/import",
    "/c/clients/new",
]


def child(warm: bool, pages: list[str]) -> None:
    """Run in a fresh process: print {page: [ms of visit 1, 2, 3]} as JSON."""
    sys.path.insert(0, str(ROOT / "tests"))
    sys.path.insert(0, str(ROOT / "bench"))
    from bench_admin_ui import instance_app
    from starlette.testclient import TestClient
    from support.users import ADMIN_EMAIL, ADMIN_PASSWORD
    from support.web import sign_in

    from kartoteka.web import warmup

    out: dict[str, object] = {}
    with tempfile.TemporaryDirectory() as tmp, instance_app(Path(tmp)) as (_inst, app):
        if warm:
            out["warm_up_s"] = warmup.warm_up()
        web = TestClient(app, follow_redirects=False)
        api = TestClient(app, base_url="http://testserver/api/v1")
        login = {"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}
        api.headers["Authorization"] = (
            "Bearer " + api.post("/auth/login", json=login).json()["token"]
        )
        fields = [{"name": "Name", "type": "text"}]
        api.post("/catalogs", json={"name": "Clients", "api_name": "clients", "fields": fields})
        user = {"email": "anna@example.com", "name": "Anna", "password": "anna-password-1"}
        api.post("/users", json=user)
        sign_in(web)
        for page in pages:
            times = []
            for _ in range(3):
                started = time.perf_counter()
                status = web.get(page).status_code
                times.append((time.perf_counter() - started) * 1000)
                assert status == 200, (page, status)
            out[page] = times
    print(json.dumps(out))


def run(warm: bool, pages: list[str]) -> dict[str, object]:
    cmd = [sys.executable, __file__, "--child", "warm" if warm else "cold", *pages]
    done = subprocess.run(cmd, capture_output=True, text=True, check=True, cwd=ROOT)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    if len(sys.argv) > 2 and sys.argv[1] == "--child":
        child(sys.argv[2] == "warm", sys.argv[3:])
        return
    args = parser(__doc__.splitlines()[0]).parse_args()
    pages = PAGES[:4] if args.quick else PAGES
    cold, warm = run(False, pages), run(True, pages)
    results = Results("first_visit", "sqlite")
    results.sizes = {"pages": len(pages)}
    print(f"\n{'page':40} {'cold 1st':>9} {'warm 1st':>9} {'3rd visit':>9}  (ms)")
    for page in pages:
        c, w = cold[page], warm[page]
        assert isinstance(c, list) and isinstance(w, list)
        print(f"{page:40} {c[0]:9.1f} {w[0]:9.1f} {w[2]:9.1f}")
    worst_cold = max(cold[p][0] for p in pages)  # type: ignore[index]
    worst_warm = max(warm[p][0] for p in pages)  # type: ignore[index]
    steady = max(warm[p][2] for p in pages)  # type: ignore[index]
    results.add("slowest first visit, no warm-up", worst_cold, "ms", steady, "slowest 3rd visit")
    results.add(
        "slowest first visit, after warm-up",
        worst_warm,
        "ms",
        steady,
        "slowest 3rd visit",
        target="< 200 ms",
        ok=worst_warm < 200,
    )
    results.add("warm-up at start (background)", float(warm["warm_up_s"]), "s")  # type: ignore[arg-type]
    results.print()
    results.write(args.json)


if __name__ == "__main__":
    main()
