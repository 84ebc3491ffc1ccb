"""Search targets: where federated search looks, each behind the same one-method seam."""

from __future__ import annotations

from libgate.config import TargetSettings
from libgate.search.index import LocalIndex
from libgate.search.targets._base import Target
from libgate.search.targets._json import JsonTarget
from libgate.search.targets._local import LocalTarget
from libgate.search.targets._readers import AnswerReaders
from libgate.search.targets._sru import SruTarget
from libgate.search.targets._z3950 import Z3950Target


def build_target(
    name: str, settings: TargetSettings, *, local_index: LocalIndex, readers: AnswerReaders
) -> Target:
    """The target ``settings`` describe, reading its answers with ``readers`` where it
    reads XML or JSON. Z39.50 without the YAZ library still builds: its searches then fail with a
    plain explanation."""
    if settings.protocol == "sru":
        return SruTarget(name, settings, readers=readers)
    if settings.protocol == "z3950":
        return Z3950Target(name, settings)
    if settings.protocol == "json":
        return JsonTarget(name, settings, readers=readers)
    return LocalTarget(name, settings, local_index)


__all__ = [
    "AnswerReaders",
    "JsonTarget",
    "LocalTarget",
    "SruTarget",
    "Target",
    "Z3950Target",
    "build_target",
]
