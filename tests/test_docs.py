"""The documentation stays true to the code.

Every setting in ``libgate.config`` is in ``docs/configuration.md`` (with its environment
variable, default and description) and in the example ``libgate.toml`` (which must parse,
validate and hold exactly the defaults); every ``libgate`` command and option is in the docs;
every audit event, scope, claim and client assertion algorithm is documented, with the
refresh token lifetimes, the housekeeping interval and the footer's account link as the
code has them; the README opens with ``make demo`` and ``make test``; and links between the
documents lead somewhere.
"""

from __future__ import annotations

import json
import re
import tomllib
import typing
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import typer.main
from pydantic import BaseModel
from pydantic.fields import FieldInfo

from libgate.app import _HOUSEKEEPING_SECONDS
from libgate.cli import app
from libgate.config import Settings, _env_overrides
from libgate.oidc import KNOWN_SCOPES
from libgate.oidc._claims import SCOPE_CLAIMS
from libgate.oidc._client_auth import ASSERTION_ALGS

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
README = ROOT / "README.md"
EXAMPLE = ROOT / "libgate.toml"
CONFIG_DOC = DOCS / "configuration.md"
OIDC_DOC = DOCS / "integrations" / "openid-connect.md"
OPERATIONS_DOC = DOCS / "operations.md"
DEPLOYMENT_DOC = DOCS / "deployment.md"
PRIVACY_DOC = DOCS / "privacy" / "front-door.md"
BASE_TEMPLATE = ROOT / "src" / "libgate" / "web" / "templates" / "base.html"


def _named_model(annotation: Any) -> type[BaseModel] | None:
    """The model of a ``dict[str, Model]`` setting (named tables such as policies)."""
    if typing.get_origin(annotation) is dict:
        value = typing.get_args(annotation)[1]
        if isinstance(value, type) and issubclass(value, BaseModel):
            return value
    return None


def _settings_fields(
    model: type[BaseModel] = Settings, path: tuple[str, ...] = ()
) -> Iterator[tuple[tuple[str, ...], FieldInfo]]:
    """Every leaf setting as (path, field), walking into the section models. Named tables
    (``[gateway.policies.NAME]``) are checked by their own tests, not as one setting."""
    for name, field in model.model_fields.items():
        annotation = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            yield from _settings_fields(annotation, (*path, name))
        elif _named_model(annotation) is None:
            yield (*path, name), field


def _named_tables(
    model: type[BaseModel] = Settings, path: tuple[str, ...] = ()
) -> Iterator[tuple[tuple[str, ...], type[BaseModel]]]:
    for name, field in model.model_fields.items():
        annotation = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            yield from _named_tables(annotation, (*path, name))
        elif (named := _named_model(annotation)) is not None:
            yield (*path, name), named


def _sections(model: type[BaseModel] = Settings) -> list[str]:
    return [
        name
        for name, field in model.model_fields.items()
        if isinstance(field.annotation, type) and issubclass(field.annotation, BaseModel)
    ]


SETTINGS = list(_settings_fields())
SETTING_IDS = [".".join(path) for path, _ in SETTINGS]


def _env_name(path: tuple[str, ...]) -> str:
    return "LIBGATE_" + "__".join(part.upper() for part in path)


def _docs_text() -> str:
    return "\n".join(p.read_text(encoding="utf-8") for p in sorted(DOCS.rglob("*.md")))


def _example() -> dict[str, Any]:
    return tomllib.loads(EXAMPLE.read_text(encoding="utf-8"))


# ---- the settings ------------------------------------------------------------------------


def test_the_settings_walk_finds_every_section() -> None:
    assert SETTINGS, "no settings found"
    assert {"library", "throttle", "tokens", "sessions"} <= set(_sections())


def test_example_configuration_parses_and_validates_as_the_defaults() -> None:
    settings = Settings.model_validate(_example())
    assert settings == Settings.model_validate({}), (
        "libgate.toml must hold exactly the default values"
    )


@pytest.mark.parametrize(("path", "field"), SETTINGS, ids=SETTING_IDS)
def test_example_configuration_sets_every_key(path: tuple[str, ...], field: FieldInfo) -> None:
    section: Any = _example()
    for part in path:
        assert isinstance(section, dict) and part in section, (
            f"libgate.toml does not set {'.'.join(path)}"
        )
        section = section[part]
    assert _env_name(path) in EXAMPLE.read_text(encoding="utf-8"), (
        f"libgate.toml does not name the variable {_env_name(path)}"
    )


@pytest.mark.parametrize(("path", "field"), SETTINGS, ids=SETTING_IDS)
def test_documented_environment_variable_reaches_the_setting(
    path: tuple[str, ...], field: FieldInfo
) -> None:
    overrides: Any = _env_overrides({_env_name(path): "value"})
    for part in path:
        overrides = overrides[part]
    assert overrides in ("value", ["value"])


@pytest.mark.parametrize(("path", "field"), SETTINGS, ids=SETTING_IDS)
def test_configuration_reference_documents_every_key(
    path: tuple[str, ...], field: FieldInfo
) -> None:
    env = _env_name(path)
    rows = [
        line
        for line in CONFIG_DOC.read_text(encoding="utf-8").splitlines()
        if line.startswith("|") and f"`{env}`" in line
    ]
    assert len(rows) == 1, f"docs/configuration.md needs one table row for {env}"
    row = rows[0]
    assert f"`{path[-1]}`" in row, f"the row for {env} does not name the key {path[-1]}"
    default = json.dumps(field.get_default(call_default_factory=True))
    assert f"`{default}`" in row, f"the row for {env} does not give the default {default}"
    if field.description:
        assert field.description in row, f"the row for {env} lacks config.py's description"


NAMED_TABLES = list(_named_tables())


@pytest.mark.parametrize(
    ("path", "model"), NAMED_TABLES, ids=[".".join(p) for p, _ in NAMED_TABLES]
)
def test_named_tables_document_every_key(path: tuple[str, ...], model: type[BaseModel]) -> None:
    """``[gateway.policies.NAME]``: each key in a table row with its default and
    description, and the example file holds every built-in table."""
    rows = [line for line in CONFIG_DOC.read_text(encoding="utf-8").splitlines() if line[:1] == "|"]
    for key, field in model.model_fields.items():
        matching = [row for row in rows if row.startswith(f"| `{key}` |")]
        assert matching, f"docs/configuration.md has no row for {'.'.join(path)}.*.{key}"
        assert any(field.description and field.description in row for row in matching)
    section: Any = _example()
    for part in path:
        section = section[part]
    defaults = Settings.model_validate({})
    for part in path:
        defaults = getattr(defaults, part)
    assert set(section) == set(defaults), f"libgate.toml must show every built-in {path[-1]}"


@pytest.mark.parametrize("section", _sections())
def test_configuration_reference_has_a_heading_per_section(section: str) -> None:
    headings = [
        line for line in CONFIG_DOC.read_text(encoding="utf-8").splitlines() if line[:1] == "#"
    ]
    assert any(f"`[{section}]`" in heading for heading in headings)


def test_configuration_reference_says_how_the_file_is_found() -> None:
    text = CONFIG_DOC.read_text(encoding="utf-8")
    assert "LIBGATE_CONFIG" in text
    assert "libgate.toml" in text


# ---- the command line --------------------------------------------------------------------


def _commands(command: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Any]]:
    """Every leaf command as (path, command). Typer vendors its own click, so groups are
    recognised by having sub-commands rather than by class."""
    subcommands = getattr(command, "commands", None)
    if subcommands:
        for name, sub in subcommands.items():
            yield from _commands(sub, (*path, name))
    else:
        yield path, command


COMMANDS = list(_commands(typer.main.get_command(app)))
COMMAND_IDS = [" ".join(path) for path, _ in COMMANDS]


def test_the_command_walk_finds_commands() -> None:
    assert ("clients", "add") in [path for path, _ in COMMANDS]
    assert ("serve",) in [path for path, _ in COMMANDS]


@pytest.mark.parametrize(("path", "command"), COMMANDS, ids=COMMAND_IDS)
def test_every_command_is_documented(path: tuple[str, ...], command: Any) -> None:
    text = _docs_text()
    assert f"libgate {' '.join(path)}" in text, f"docs/ never mention `libgate {' '.join(path)}`"
    for param in command.params:
        if param.param_type_name == "option":
            for option in param.opts:
                assert option in text, f"docs/ never mention {option} of libgate {path}"


# ---- audit events, scopes and claims -------------------------------------------------------

# Event names as written in src/ (template names such as "signin.html" are not events).
_EVENT = re.compile(r'"((?:signin|token|consent|claims)\.(?!html")[a-z_]+|signout)"')


def _audit_events() -> set[str]:
    events: set[str] = set()
    for source in (ROOT / "src" / "libgate").rglob("*.py"):
        events.update(_EVENT.findall(source.read_text(encoding="utf-8")))
    return events


def test_every_audit_event_is_documented() -> None:
    events = _audit_events()
    assert "signin.success" in events
    text = OPERATIONS_DOC.read_text(encoding="utf-8")
    missing = sorted(event for event in events if f"`{event}`" not in text)
    assert not missing, f"docs/operations.md does not list the audit events {missing}"


def test_every_scope_and_claim_is_documented() -> None:
    text = OIDC_DOC.read_text(encoding="utf-8")
    names = {*KNOWN_SCOPES, *(claim for claims in SCOPE_CLAIMS.values() for claim in claims)}
    missing = sorted(name for name in names if f"`{name}`" not in text)
    assert not missing, f"docs/integrations/openid-connect.md does not mention {missing}"


def test_client_assertion_algorithms_are_documented() -> None:
    text = OIDC_DOC.read_text(encoding="utf-8")
    missing = [alg for alg in ASSERTION_ALGS if f"`{alg}`" not in text]
    assert not missing, f"docs/integrations/openid-connect.md does not list {missing}"


def _section(text: str, heading: str) -> str:
    start = text.index(f"\n{heading}\n")
    end = text.find("\n## ", start + 1)
    return text[start : end if end != -1 else len(text)]


def test_refresh_token_lifetimes_match_the_defaults() -> None:
    tokens = Settings.model_validate({}).tokens
    section = _section(OIDC_DOC.read_text(encoding="utf-8"), "## Refresh tokens")
    for seconds in (tokens.refresh_token_ttl, tokens.grant_lifetime):
        assert seconds % 86_400 == 0
        assert f"{seconds // 86_400} days" in section, (
            f"the refresh token section does not say {seconds // 86_400} days"
        )


def test_housekeeping_interval_matches_the_code() -> None:
    every = f"every {_HOUSEKEEPING_SECONDS // 60} minutes"
    for document in (DEPLOYMENT_DOC, PRIVACY_DOC):
        text = " ".join(document.read_text(encoding="utf-8").split())
        assert every in text, f"{document.name} does not say housekeeping runs {every}"


def test_account_link_in_the_footer_is_quoted_as_residents_see_it() -> None:
    footer = re.search(r'<a href="/account">([^<]+)</a>', BASE_TEMPLATE.read_text(encoding="utf-8"))
    assert footer, "the page footer no longer links to /account"
    text = " ".join(PRIVACY_DOC.read_text(encoding="utf-8").split())
    assert f'"{footer.group(1)}"' in text, "the privacy page misquotes the footer link"


# ---- the README and links ----------------------------------------------------------------


def test_readme_starts_with_make_demo_and_make_test() -> None:
    first_lines = README.read_text(encoding="utf-8").splitlines()[:6]
    demo = [i for i, line in enumerate(first_lines) if "make demo" in line]
    test = [i for i, line in enumerate(first_lines) if "make test" in line]
    assert demo and test, "README.md must open with `make demo` and `make test`"
    assert demo[0] < test[0], "README.md must give `make demo` before `make test`"


def _slug(heading: str) -> str:
    """The anchor GitHub makes for a heading."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


_LINK = re.compile(r"\]\(([^)\s]+)\)")
DOCUMENTS = [README, *sorted(DOCS.rglob("*.md"))]


@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda p: str(p.relative_to(ROOT)))
def test_links_between_documents_lead_somewhere(document: Path) -> None:
    for target in _LINK.findall(document.read_text(encoding="utf-8")):
        if re.match(r"^[a-z]+:", target):
            continue  # http://, https://, mailto: ...
        file_part, _, anchor = target.partition("#")
        linked = (document.parent / file_part).resolve() if file_part else document
        assert linked.exists(), f"{document.name} links to missing {target}"
        if anchor and linked.suffix == ".md":
            slugs = {
                _slug(line.lstrip("#"))
                for line in linked.read_text(encoding="utf-8").splitlines()
                if line.startswith("#")
            }
            assert anchor in slugs, f"{document.name} links to missing heading {target}"
