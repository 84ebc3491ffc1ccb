"""The embedded demo: 20 sample patrons and one demo service (relying party)."""

from __future__ import annotations

import asyncio
import csv
from dataclasses import dataclass
from pathlib import Path

from libgate.demo._gateway import DemoGateway, demo_gateway
from libgate.patrons import import_patrons_csv
from libgate.search.index import LocalIndex
from libgate.services import Services
from libgate.web import DemoRelyingParty

__all__ = ["SAMPLE_CATALOGUE", "DemoGateway", "demo_gateway", "prepare_demo", "sample_patrons"]

SAMPLE_PATRONS = Path(__file__).with_name("patrons.csv")
# 2,000 real Library of Congress records (open data): the demo's catalogue, and the tests'.
SAMPLE_CATALOGUE = Path(__file__).with_name("catalogue.mrc")
DEMO_CLIENT_ID = "demo-service"


@dataclass(frozen=True)
class SamplePatron:
    card: str
    pin: str
    name: str
    note: str


def sample_patrons() -> list[SamplePatron]:
    with SAMPLE_PATRONS.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    return [
        SamplePatron(
            row["card"],
            row["pin"],
            row["name"],
            "blocked" if row["blocked"] else ("expired" if row["expires"] < "2025" else ""),
        )
        for row in rows
    ]


async def prepare_demo(services: Services) -> DemoRelyingParty:
    """Load the sample patrons and the sample catalogue (into an empty local index) and
    (re)register the demo service with a fresh secret."""
    report = await import_patrons_csv(services.database, SAMPLE_PATRONS, services.hasher)
    if report.problems:
        raise RuntimeError("; ".join(report.problems))
    index = LocalIndex(services.settings.search.local_index)
    if index.count() == 0:
        await asyncio.to_thread(index.import_marc, SAMPLE_CATALOGUE)
    index.close()
    issuer = services.settings.issuer_url
    await services.clients.remove(DEMO_CLIENT_ID)
    _, secret = await services.clients.add(
        client_id=DEMO_CLIENT_ID,
        name="Demo council portal",
        redirect_uris=[f"{issuer}/demo/callback"],
        post_logout_redirect_uris=[f"{issuer}/"],
        scopes=["profile", "email", "library"],
    )
    assert secret is not None
    return DemoRelyingParty(DEMO_CLIENT_ID, secret, issuer)
