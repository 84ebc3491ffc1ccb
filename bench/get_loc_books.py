"""Fetch 250,000 real Library of Congress MARC 21 book records (UTF-8, ISO 2709, 241 MB):
"BooksAll.2016.part01", shipped in the source distribution of pymarc 5.4.0, downloaded with
pip from the package index this machine is set up for.

    .venv/bin/python bench/get_loc_books.py [DIR]     # default bench/data; prints the path
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

BENCH = Path(__file__).resolve().parent
FILE_NAME = "loc-books-250k.mrc"
_SDIST = "pymarc-5.4.0.tar.gz"
_PIP_DOWNLOAD = (sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", ":all:")
_MEMBER = "pymarc-5.4.0/BooksAll.2016.part01.utf8"


def loc_books(directory: Path = BENCH / "data") -> Path:
    """The 250,000-record file in ``directory``, downloaded first if it is not there."""
    target = directory / FILE_NAME
    if target.is_file() and target.stat().st_size:
        return target
    directory.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as scratch:
        subprocess.run(
            [*_PIP_DOWNLOAD, "pymarc==5.4.0", "-d", scratch, "-q"],
            check=True,
        )
        with tarfile.open(Path(scratch) / _SDIST) as archive:
            member = archive.extractfile(_MEMBER)
            if member is None:
                raise RuntimeError(f"{_SDIST} has no {_MEMBER}")
            partial = target.with_suffix(".part")
            with member, partial.open("wb") as out:
                shutil.copyfileobj(member, out)
            partial.replace(target)
    return target


if __name__ == "__main__":
    print(loc_books(Path(sys.argv[1]) if len(sys.argv) > 1 else BENCH / "data"))
