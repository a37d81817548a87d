"""Guards shared by every worker: the outgoing HTTP rate limit of a scenario."""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa

from kartoteka.context import Workspace
from kartoteka.storage import schema


def reserve_http_slot(
    ws: Workspace, scenario_id: int, per_second: float, now: datetime
) -> datetime:
    """The moment this call may go out; the next one may go 1/rate seconds later.

    The slot is taken under the scenario row's lock, so workers in several processes
    share one schedule and the receiver never sees more than `per_second` calls a second.
    """
    s = schema.scenarios
    with ws.engine.begin() as conn:
        q = sa.select(s.c.http_next_at).where(s.c.id == scenario_id)
        if conn.dialect.name == "postgresql":
            q = q.with_for_update()
        current = conn.execute(q).scalar()
        slot = max(now, current or now)
        conn.execute(
            sa.update(s)
            .where(s.c.id == scenario_id)
            .values(http_next_at=slot + timedelta(seconds=1.0 / per_second))
        )
    return slot
