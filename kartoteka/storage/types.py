"""Column types shared by platform and catalog tables."""

from __future__ import annotations

from typing import Any

import orjson
import sqlalchemy as sa


class JSONText(sa.types.TypeDecorator[Any]):
    """JSON kept as text on every dialect, (de)serialised with orjson for speed."""

    impl = sa.Text
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: sa.Dialect) -> str | None:
        if value is None:
            return None
        return orjson.dumps(value).decode()

    def process_result_value(self, value: Any, dialect: sa.Dialect) -> Any:
        if value is None:
            return None
        return orjson.loads(value)
