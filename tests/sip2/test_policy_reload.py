"""Policies are edited in libgate.toml and picked up without a restart; a broken edit is
reported and the last good policies stay in force."""

from __future__ import annotations

from pathlib import Path

import pytest

from libgate.config import load_settings
from libgate.sip2.gateway import ReloadingSettings

POLICY = """
[gateway.policies.ebooks]
messages = ["63"]
fields = {fields}
"""


async def test_an_edited_policy_applies_and_a_broken_edit_is_ignored(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    config = tmp_path / "libgate.toml"
    config.write_text(POLICY.format(fields='["BL", "CQ"]'), encoding="utf-8")
    monkeypatch.setenv("LIBGATE_CONFIG", str(config))
    settings = ReloadingSettings(load_settings())
    assert settings.gateway().policies["ebooks"].fields == ["BL", "CQ"]

    config.write_text(POLICY.format(fields='["BL", "CQ", "AE"]'), encoding="utf-8")
    await settings.reload()
    assert settings.gateway().policies["ebooks"].fields == ["BL", "CQ", "AE"]

    config.write_text(POLICY.format(fields='"not a list"'), encoding="utf-8")
    await settings.reload()
    assert settings.gateway().policies["ebooks"].fields == ["BL", "CQ", "AE"]
    assert "not reloaded" in caplog.text
