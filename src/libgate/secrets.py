"""The instance secret and the keys derived from it, one per purpose.

The secret comes from ``secret_key`` in the configuration when set; otherwise libgate
generates one and keeps it in the database, so every instance on that database agrees.
Pairwise identifiers and sealed signing keys depend on it, so libgate refuses to start
with a secret other than the one the database was set up with.
"""

from __future__ import annotations

import hmac
import secrets as _random

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError

from libgate.config import ConfigError
from libgate.db import Database
from libgate.db.tables import instance_secrets

_MASTER = "master"
_FINGERPRINT = "fingerprint"


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
        master = configured.encode() if configured else await _stored_master(database)
        loaded = cls(master)
        await _check_fingerprint(database, loaded.derive(_FINGERPRINT))
        return loaded


async def _insert_once(database: Database, name: str, value: bytes) -> bytes:
    """Store ``value`` under ``name`` unless another instance stored one first; return the
    value that is stored."""
    async with database.read() as connection:
        found = await connection.scalar(
            select(instance_secrets.c.value).where(instance_secrets.c.name == name)
        )
    if found is not None:
        return bytes(found)
    try:
        async with database.transaction() as connection:
            await connection.execute(insert(instance_secrets).values(name=name, value=value))
        return value
    except IntegrityError:
        return await _insert_once(database, name, value)


async def _stored_master(database: Database) -> bytes:
    return await _insert_once(database, _MASTER, _random.token_bytes(32))


async def _check_fingerprint(database: Database, fingerprint: bytes) -> None:
    stored = await _insert_once(database, _FINGERPRINT, fingerprint)
    if not hmac.compare_digest(stored, fingerprint):
        raise ConfigError(
            "secret_key is not the one this database was set up with. Residents' pairwise "
            "identifiers at every service and the sealed signing keys depend on it: put back "
            "the original secret_key (or leave it empty if libgate generated it)."
        )
