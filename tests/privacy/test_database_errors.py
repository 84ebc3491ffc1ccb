"""A failed database statement is logged with its message: it must not hold the values."""

from __future__ import annotations

import pytest
from sqlalchemy import insert
from sqlalchemy.exc import IntegrityError

from libgate.db.tables import sip2_journal
from libgate.services import Services

CARD = "29990000000777"


async def test_a_failed_statement_does_not_repeat_the_values_it_was_given(
    services: Services,
) -> None:
    loan = {
        "idempotency_key": "one-key",
        "vendor": "kiosk-1",
        "code": "11",
        "message": f"11NN20261129    120000                  AOLIB|AA{CARD}|AB31000000000001|",
        "card": CARD,
        "item": "31000000000001",
        "state": "pending",
        "created_at": 0.0,
    }
    async with services.database.transaction() as connection:
        await connection.execute(insert(sip2_journal).values(loan))
    with pytest.raises(IntegrityError) as refused:
        async with services.database.transaction() as connection:
            await connection.execute(insert(sip2_journal).values(loan))
    assert "sip2_journal" in str(refused.value)  # it still says what failed
    assert CARD not in str(refused.value)
