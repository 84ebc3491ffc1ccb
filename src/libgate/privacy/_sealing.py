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


# An entry's place in the chain: (entry id, seq, hash before it, its hash).
Seal = tuple[int, int, str, str]


async def write_seals(connection: AsyncConnection, seals: list[Seal], *, postgres: bool) -> None:
    """Give each entry its place in the chain, in the caller's transaction."""
    if postgres:
        ids, seqs, prev_hashes, hashes = zip(*seals, strict=True)
        await connection.execute(
            _SEAL_ARRAYS,
            {
                "ids": list(ids),
                "seqs": list(seqs),
                "prev_hashes": list(prev_hashes),
                "hashes": list(hashes),
            },
        )
        return
    await connection.execute(
        _SEAL_EACH,
        [
            {"row_id": row_id, "new_seq": seq, "prev": prev_hash, "digest": digest}
            for row_id, seq, prev_hash, digest in seals
        ],
    )
