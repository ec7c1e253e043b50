"""Example tool ``get_time``: the real current time in an IANA time zone (zoneinfo; no network).

Decorated with ``@crazycall.tool``, so every ``*.py`` plugin folder load finds it; ``tools.yaml`` overrides
its description only, to show how an entry without ``function:`` refines a plugin function.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import crazycall


@crazycall.tool(timeout=5)
def get_time(timezone: Annotated[str, "IANA time zone name, e.g. Asia/Shanghai"]) -> dict[str, Any]:
    """Current date and time in a time zone.

    Raises ValueError for a name the time zone database does not know.
    """
    try:
        zone = ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(
            f"unknown time zone {timezone!r}; use an IANA name such as 'Europe/Paris' or 'Asia/Shanghai'"
        ) from None
    now = datetime.now(zone).replace(microsecond=0)
    offset = now.strftime("%z")
    return {
        "timezone": timezone,
        "datetime": now.isoformat(),
        "utc_offset": f"{offset[:3]}:{offset[3:]}",
        "abbreviation": now.tzname(),
    }
