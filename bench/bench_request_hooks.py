"""What a request webhook adds to a save: one record created with and without one.

The receiver (`webhook_receiver.py`, its own process on loopback) answers
`{"allow": true}` at once, so its own time is the loopback round trip, measured as
the baseline with the same client the hook uses (httpx, keep-alive). The save is
`records.service.create_record`, the service call behind `POST /records`.
"""

from __future__ import annotations

import itertools

import httpx
from common import Env, Results, environment, free_port, parser, summary, timed
from webhook_receiver import ReceiverProcess


def saves(env: Env, catalog: str, repeat: int) -> list[float]:
    """Milliseconds per single-record create."""
    from kartoteka.records import service

    actor = env.admin()
    counter = itertools.count()
    return timed(
        lambda: service.create_record(actor, catalog, {"name": f"r{next(counter)}"}),
        repeat,
        warmup=20,
    )


def round_trips(url: str, repeat: int) -> list[float]:
    """Milliseconds per POST of a similar body to the receiver (its own time)."""
    body = b'{"type": "record.before_create", "values": {"name": "r1"}}'
    with httpx.Client() as client:
        return timed(lambda: client.post(url, content=body), repeat, warmup=20)


def main() -> None:
    """Measure and print the table."""
    args = parser(__doc__ or "").parse_args()
    repeat = 200 if args.quick else 2000
    with environment(args.database_url) as env:
        env.settings.webhook_allow_private = True  # the receiver is on loopback
        res = Results("bench_request_hooks", env.database, {"saves": repeat})
        rx = ReceiverProcess(free_port())
        try:
            from kartoteka.catalogs import service as catalogs
            from kartoteka.webhooks import service as webhooks

            spec = {"fields": [{"name": "Name", "type": "text"}]}
            catalogs.create_catalog(env.admin(), {"name": "Plain", **spec})
            catalogs.create_catalog(env.admin(), {"name": "Guarded", **spec})
            hook = {"url": rx.url("/request"), "catalog": "guarded", "kind": "request"}
            webhooks.create_webhook(env.admin(), hook)
            plain = summary(saves(env, "plain", repeat))
            guarded = summary(saves(env, "guarded", repeat))
            own = summary(round_trips(rx.url("/request"), repeat))
        finally:
            rx.close()
        for key in ("p50", "p99"):
            res.add(f"save without webhook {key}", plain[key], "ms")
            res.add(f"save with a request webhook {key}", guarded[key], "ms", plain[key], "plain")
        added = guarded["p50"] - plain["p50"]
        res.add("receiver round trip p50 (baseline)", own["p50"], "ms", note="raw httpx POST")
        res.add("added to a save, p50", added, "ms", target="", note="with - without")
        res.add(
            "added beyond the receiver's own time, p50",
            added - own["p50"],
            "ms",
            target="<= 5 ms",
            ok=added - own["p50"] <= 5,
        )
    res.print()
    res.write(args.json)


if __name__ == "__main__":
    main()
