"""Settings for tests of the search as residents and scripts use it: the sample catalogue
as the local index, beside the targets a test brings."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from libgate.config import Settings
from libgate.demo import SAMPLE_CATALOGUE
from libgate.search.index import LocalIndex
from tests.conftest import ISSUER


def with_sample_catalogue(
    database_url: str, folder: Path, targets: dict[str, Any], **search: Any
) -> Settings:
    """libgate's settings, its local index in ``folder`` holding the sample catalogue, and
    ``targets`` (besides ``local``) and other ``[search]`` keys as in the file."""
    LocalIndex(folder / "catalogue.db").import_marc(SAMPLE_CATALOGUE)
    return Settings.model_validate(
        {
            "issuer": ISSUER,
            "database_url": database_url,
            "search": {
                "local_index": str(folder / "catalogue.db"),
                "targets": {"local": {"protocol": "local", "title": "This library"}, **targets},
                **search,
            },
        }
    )
