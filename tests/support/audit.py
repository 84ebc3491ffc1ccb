"""Audit entries written at chosen moments, for tests that read the trail by date."""

from __future__ import annotations

import datetime as dt
from typing import Any

from libgate.privacy import audit_row


def utc(moment: str) -> float:
    """Seconds since 1970 for an ISO date and time read as UTC."""
    return dt.datetime.fromisoformat(moment).replace(tzinfo=dt.UTC).timestamp()


def entry_at(moment: str, event: str, **fields: Any) -> dict[str, Any]:
    """An audit entry as libgate writes it, stamped ``moment`` (UTC) instead of now."""
    return {**audit_row(event, **fields), "at": utc(moment)}
