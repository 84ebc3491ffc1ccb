"""The instance secret and the keys derived from it, one per purpose.

The secret comes from ``secret_key`` in the configuration when set; otherwise libgate
generates one and keeps it in the database, so every instance on that database agrees.
"""

from __future__ import annotations

import secrets as _random

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError

from libgate.db import Database
from libgate.db.tables import instance_secrets

_NAME = "master"


class InstanceSecrets:
    def __init__(self, master: bytes) -> None:
        self._master = master

    def derive(self, purpose: str) -> bytes:
        """A 32-byte key for one purpose; keys for different purposes are independent."""
        return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=purpose.encode()).derive(
            self._master
        )

    @classmethod
    async def load(cls, database: Database, configured: str) -> InstanceSecrets:
        if configured:
            return cls(configured.encode())
        async with database.read() as connection:
            found = await connection.scalar(
                select(instance_secrets.c.value).where(instance_secrets.c.name == _NAME)
            )
        if found is not None:
            return cls(found)
        try:
            async with database.transaction() as connection:
                fresh = _random.token_bytes(32)
                await connection.execute(insert(instance_secrets).values(name=_NAME, value=fresh))
                return cls(fresh)
        except IntegrityError:  # another instance created it first: use theirs
            return await cls.load(database, configured)
