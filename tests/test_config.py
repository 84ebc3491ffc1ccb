"""Settings come from libgate.toml and LIBGATE_* environment variables, with clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from libgate.config import ConfigError, load_settings


def test_defaults_need_no_file() -> None:
    settings = load_settings({"LIBGATE_CONFIG": "/dev/null"})
    assert settings.database_url == "sqlite:///libgate.db"
    assert settings.throttle.max_failures_per_card == 10
    assert settings.throttle.window_seconds == 300


def test_environment_overrides_the_file(tmp_path: Path) -> None:
    config = tmp_path / "libgate.toml"
    config.write_text('issuer = "https://file.example"\n[throttle]\nlockout_seconds = 60\n')
    settings = load_settings(
        {
            "LIBGATE_CONFIG": str(config),
            "LIBGATE_ISSUER": "https://login.library.example.gov.uk/",
            "LIBGATE_DATABASE_URL": "postgresql://libgate@db/libgate",
            "LIBGATE_THROTTLE__MAX_LOCKOUT_SECONDS": "900",
        }
    )
    assert settings.issuer_url == "https://login.library.example.gov.uk"
    assert settings.database_url == "postgresql://libgate@db/libgate"
    assert settings.throttle.lockout_seconds == 60
    assert settings.throttle.max_lockout_seconds == 900


def test_unknown_keys_are_refused_by_name(tmp_path: Path) -> None:
    config = tmp_path / "libgate.toml"
    config.write_text("[throttle]\nmax_failures = 3\n")
    with pytest.raises(ConfigError, match=r"throttle\.max_failures"):
        load_settings({"LIBGATE_CONFIG": str(config)})


def test_a_missing_named_file_is_an_error() -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_settings({"LIBGATE_CONFIG": "/nonexistent/libgate.toml"})


def test_colours_must_be_hex_so_they_cannot_inject_css(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="primary_colour"):
        load_settings(
            {
                "LIBGATE_CONFIG": "/dev/null",
                "LIBGATE_LIBRARY__PRIMARY_COLOUR": "red; } body { display:none",
            }
        )
