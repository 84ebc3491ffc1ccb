"""The index file's tables: one row per record (its common-model JSON, its MARC, and the
text that is searched), and an FTS5 index over that text kept in step by triggers."""

from __future__ import annotations

from libgate.search.index._fts import COLUMNS

VERSION = 1  # PRAGMA user_version of an index file this code can read

_COLUMN_LIST = ", ".join(COLUMNS)
_NEW = ", ".join(f"new.{column}" for column in COLUMNS)
_OLD = ", ".join(f"old.{column}" for column in COLUMNS)

# Built from this module's own constants only: nothing here comes from users.
SCHEMA = f"""
CREATE TABLE IF NOT EXISTS imports (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    started_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS records (
    id INTEGER PRIMARY KEY,
    native_id TEXT NOT NULL UNIQUE,
    import_id INTEGER NOT NULL,
    record TEXT NOT NULL,
    marc BLOB NOT NULL,
    {", ".join(f"{column} TEXT NOT NULL" for column in COLUMNS)}
);
CREATE VIRTUAL TABLE IF NOT EXISTS records_fts USING fts5(
    {_COLUMN_LIST},
    content='records', content_rowid='id',
    tokenize='unicode61 remove_diacritics 2'
);
CREATE TRIGGER IF NOT EXISTS records_added AFTER INSERT ON records BEGIN
    INSERT INTO records_fts(rowid, {_COLUMN_LIST}) VALUES (new.id, {_NEW});
END;
CREATE TRIGGER IF NOT EXISTS records_removed AFTER DELETE ON records BEGIN
    INSERT INTO records_fts(records_fts, rowid, {_COLUMN_LIST})
        VALUES ('delete', old.id, {_OLD});
END;
CREATE TRIGGER IF NOT EXISTS records_changed AFTER UPDATE OF {_COLUMN_LIST} ON records BEGIN
    INSERT INTO records_fts(records_fts, rowid, {_COLUMN_LIST})
        VALUES ('delete', old.id, {_OLD});
    INSERT INTO records_fts(rowid, {_COLUMN_LIST}) VALUES (new.id, {_NEW});
END;
PRAGMA user_version = {VERSION};
"""  # noqa: S608
