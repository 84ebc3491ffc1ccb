"""Sealing audit entries into the chain: each entry's hash, and writing a batch's chain
positions and hashes back."""

from __future__ import annotations

import hashlib
import json

from sqlalchemy import ARRAY, BigInteger, String, bindparam, text, update
from sqlalchemy.ext.asyncio import AsyncConnection

from libgate.db.tables import audit_log

# Built once: json.dumps with any option set makes a new encoder at every call, and this
# runs for every entry sealed.
_CHAIN_JSON = json.JSONEncoder(separators=(",", ":"))


def chain_hash(
    prev_hash: str,
    seq: int,
    at: float,
    event: str,
    patron_ref: str | None,
    client_id: str | None,
    ip: str | None,
    detail_text: str,
) -> str:
    """The hash of an entry sealed at ``seq`` after an entry hashing to ``prev_hash``."""
    canonical = _CHAIN_JSON.encode(
        [prev_hash, seq, repr(at), event, patron_ref, client_id, ip, detail_text]
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


# PostgreSQL seals a batch in one statement, its values passed as four arrays.
_SEAL_ARRAYS = text(
    "UPDATE audit_log SET seq = sealed.seq, prev_hash = sealed.prev_hash, hash = sealed.hash"
    " FROM unnest(:ids, :seqs, :prev_hashes, :hashes) AS sealed(id, seq, prev_hash, hash)"
    " WHERE audit_log.id = sealed.id"
).bindparams(
    bindparam("ids", type_=ARRAY(BigInteger)),
    bindparam("seqs", type_=ARRAY(BigInteger)),
    bindparam("prev_hashes", type_=ARRAY(String)),
    bindparam("hashes", type_=ARRAY(String)),
)
# Elsewhere (SQLite), one UPDATE per entry.
_SEAL_EACH = (
    update(audit_log)
    .where(audit_log.c.id == bindparam("row_id"))
    .values(seq=bindparam("new_seq"), prev_hash=bindparam("prev"), hash=bindparam("digest"))
)


class Sealing:
    """The chain positions and hashes worked out for one batch of entries."""

    def __init__(self) -> None:
        self.ids: list[int] = []
        self.seqs: list[int] = []
        self.prev_hashes: list[str] = []
        self.hashes: list[str] = []

    def add(self, row_id: int, seq: int, prev_hash: str, digest: str) -> None:
        self.ids.append(row_id)
        self.seqs.append(seq)
        self.prev_hashes.append(prev_hash)
        self.hashes.append(digest)

    async def write(self, connection: AsyncConnection, *, postgres: bool) -> None:
        if postgres:
            await connection.execute(
                _SEAL_ARRAYS,
                {
                    "ids": self.ids,
                    "seqs": self.seqs,
                    "prev_hashes": self.prev_hashes,
                    "hashes": self.hashes,
                },
            )
            return
        await connection.execute(
            _SEAL_EACH,
            [
                {"row_id": row_id, "new_seq": seq, "prev": prev_hash, "digest": digest}
                for row_id, seq, prev_hash, digest in zip(
                    self.ids, self.seqs, self.prev_hashes, self.hashes, strict=True
                )
            ],
        )
