"""The per-workspace catalogs OpenAPI document: build time for 50 catalogs x 30 fields.

Target: <= 100 ms to build (cold, nothing cached); a repeated request is served from
the cache until the schema changes. Baseline in the same run: FastAPI building the
generic `/api/v1/openapi.json` of all endpoints (`get_openapi`), also cold.
"""

from __future__ import annotations

import statistics
import time
from typing import Any

from common import Env, Results, create_catalog, environment, parser

CATALOGS = 50
FIELDS = 30
RUNS = 7
#: A mix of field types, as a CRM's catalogs have them.
TYPES = [
    ("text", {}),
    ("long_text", {}),
    ("number", {"decimals": 2}),
    ("money", {"decimals": 2}),
    ("date", {}),
    ("datetime", {}),
    ("checkbox", {}),
    ("select", {"choices": [{"label": f"Stage {i}"} for i in range(8)]}),
    ("user", {}),
    ("email", {}),
    ("phone", {}),
    ("url", {}),
]


def setup(env: Env, catalogs: int, fields: int) -> None:
    """`catalogs` catalogs of `fields` fields; every fifth field links to the first catalog."""
    first = None
    for c in range(catalogs):
        spec: list[dict[str, Any]] = []
        for f in range(fields):
            if first is not None and f % 5 == 4:
                spec.append({"name": f"Link {f}", "type": "link", "options": {"catalog": first}})
                continue
            kind, options = TYPES[f % len(TYPES)]
            spec.append({"name": f"Field {f}", "type": kind, "options": options})
        made = create_catalog(env, {"name": f"Catalog {c}", "fields": spec})
        first = first or made.id


def _ms(samples: list[float]) -> float:
    return statistics.median(samples) * 1000


def run(env: Env, res: Results, catalogs: int, fields: int) -> None:
    """Time the cold build, the cached answer and the generic document."""
    import orjson
    from fastapi.openapi.utils import get_openapi

    from kartoteka.api import catalog_openapi
    from kartoteka.server import create_app

    setup(env, catalogs, fields)
    admin = env.admin()
    cold, warm, sizes = [], [], []
    for _ in range(RUNS):
        catalog_openapi._cache.clear()
        started = time.perf_counter()
        doc = catalog_openapi.catalogs_document(admin, "/api/v1")
        cold.append(time.perf_counter() - started)
        started = time.perf_counter()
        catalog_openapi.catalogs_document(admin, "/api/v1")
        warm.append(time.perf_counter() - started)
        sizes.append(len(orjson.dumps(doc)))
    app = create_app(env.settings, env.instance)
    generic = []
    for _ in range(RUNS):
        started = time.perf_counter()
        get_openapi(title="k", version="1", routes=app.routes)
        generic.append(time.perf_counter() - started)
    res.add(
        f"catalogs document, {catalogs} x {fields} fields, cold",
        _ms(cold),
        "ms",
        _ms(generic),
        "generic openapi.json",
        "<= 100 ms",
        _ms(cold) <= 100,
        f"{sizes[0] / 1024:.0f} KiB of JSON",
    )
    res.add("catalogs document, cached", _ms(warm), "ms")


def main() -> None:
    """Run the benchmark."""
    p = parser(__doc__.splitlines()[0])
    args = p.parse_args()
    with environment(args.database_url) as env:
        res = Results(
            "bench_openapi_catalogs", env.database, {"catalogs": CATALOGS, "fields": FIELDS}
        )
        run(env, res, 10 if args.quick else CATALOGS, FIELDS)
        res.print()
        res.write(args.json)


if __name__ == "__main__":
    main()
