"""CPU cost of the live feed's notice check (the bell's `notice` event) per wake-up of a
stream, against the same stream's read of events with nothing new (issue 12).

Every stream wakes at least every 2 s; besides reading events it asks whether the
reader's notices changed. The shared workspace stamp (read at most once a second per
process) answers most wake-ups without a query; the per-user query runs only when a
notice was posted or read somewhere in the workspace. CPU time (`process_time`), so the
machine's load does not count.
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Callable
from typing import Any

from common import Env, Results, environment, parser

USERS = 50


def seed(env: Env, notices_count: int) -> tuple[Any, Any]:
    """Users and notices (one in ten to administrators); an ordinary user and the admin."""
    from kartoteka.auth import service as auth
    from kartoteka.notices import service as notices
    from kartoteka.users import service as users

    admin, ws = env.admin(), env.workspace()
    ids = [
        users.create_user(
            admin, {"email": f"u{i}@example.com", "name": f"U{i}", "password": "password-123456"}
        )["id"]
        for i in range(USERS)
    ]
    logging.getLogger("kartoteka.notices").setLevel(logging.ERROR)
    with ws.engine.begin() as conn:
        for i in range(notices_count):
            to = ids[i % USERS] if i % 10 else None
            notices.post(conn, "scenario.notify", "t", "m", "info", {}, user_id=to)
    return auth.actor_for_user(ws, ids[3], via="session"), admin


def cpu_per_call(fn: Callable[[], Any], repeat: int) -> float:
    """Mean CPU microseconds of one call."""
    start = time.process_time()
    for _ in range(repeat):
        fn()
    return (time.process_time() - start) / repeat * 1e6


def main() -> None:
    """Seed, measure per reader, print."""
    from kartoteka.notices import service as notices
    from kartoteka.webhooks import live

    args = parser(__doc__.splitlines()[0]).parse_args()
    count, repeat = (2_000, 300) if args.quick else (20_000, 2_000)
    with environment(args.database_url) as env:
        user, admin = seed(env, count)
        after = live.current_seq(env.workspace())
        res = Results("bench_live_notices", env.database, {"notices": count, "repeat": repeat})

        def stamp_read(actor: Any, seen: Any) -> None:
            live._stamps.clear()
            live._notice_news(actor, seen)

        for who, actor in (("user", user), ("administrator", admin)):
            base = cpu_per_call(lambda a=actor: live.visible_events(a, after), repeat)
            seen = live._notice_state(actor)
            cases = {
                "wake-up, stamp shared": lambda a=actor, s=seen: live._notice_news(a, s),
                "wake-up, stamp read (once a second)": lambda a=actor, s=seen: stamp_read(a, s),
                "the reader's own query (on a change)": lambda a=actor: notices.latest_state(a),
            }
            for name, case in cases.items():
                value = cpu_per_call(case, repeat if "shared" in name else repeat // 10)
                res.add(f"{who}: {name}", value, "us CPU", base, "events read, nothing new")
        res.print()
        res.write(args.json)


if __name__ == "__main__":
    sys.exit(main())
