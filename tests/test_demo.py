"""`libgate demo` (what `make demo` runs) starts on SQLite with 20 sample patrons and a
demo service, prints the cards, PINs and a link, and the link completes a sign-in; it also
runs a SIP2 gateway, in front of an LMS emulator, that a kiosk can log in to, and searches
a sample catalogue."""

from __future__ import annotations

import asyncio
import re
import subprocess
import sys
import time
from pathlib import Path

import httpx

from libgate.sip2 import Message
from libgate.testing.processes import free_port, libgate_env
from tests.support.flow import csrf_of
from tests.support.sip2 import connected


async def kiosk_checks_card(port: int, login: str, password: str, card: str, pin: str) -> Message:
    async with connected("127.0.0.1", port) as kiosk:
        assert (await kiosk.login(password, user=login)).fixed_value("ok") == "1"
        return await kiosk.patron(card, pin)


def test_the_demo_prints_its_cards_and_a_link_that_signs_in_end_to_end(
    tmp_path: Path, log_dir: Path
) -> None:
    port, sip2_port = free_port(), free_port()
    log = log_dir / f"demo-{port}.log"
    env = libgate_env(f"sqlite:///{tmp_path / 'demo.db'}", "")
    del env["LIBGATE_ISSUER"]
    env["COLUMNS"] = "200"
    with log.open("wb") as sink:
        demo = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "libgate",
                "demo",
                "--port",
                str(port),
                "--sip2-port",
                str(sip2_port),
                "--lms-port",
                str(free_port()),
            ],
            cwd=tmp_path,
            env=env,
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 60
        while "Try a complete sign-in" not in log.read_text() and time.monotonic() < deadline:
            assert demo.poll() is None, log.read_text()
            time.sleep(0.2)
        output = log.read_text()
        cards = re.findall(r"(\d{14}) +│ +(\d{4}) +│ +([^│]+?) +│ +([a-z]*) *│", output)
        assert len(cards) == 20
        link = re.search(r"Try a complete sign-in: (\S+)", output)
        assert link and link.group(1) == f"http://127.0.0.1:{port}/demo/start"
        card, pin, name, _ = next(row for row in cards if not row[3])

        with httpx.Client(follow_redirects=False, timeout=20) as browser:
            response = browser.get(link.group(1))
            for _ in range(3):  # demo service -> /authorize -> sign-in page
                response = browser.get(httpx.URL(link.group(1)).join(response.headers["location"]))
                if response.status_code == 200:
                    break
            assert "Sign in with your library card" in response.text
            signed_in = browser.post(
                response.url, data={"csrf": csrf_of(response), "card": card, "pin": pin}
            )
            consent_page = browser.get(response.url.join(signed_in.headers["location"]))
            decided = browser.post(
                consent_page.url, data={"csrf": csrf_of(consent_page), "decision": "allow"}
            )
            result = browser.get(decided.headers["location"])
        assert result.status_code == 200, result.text
        assert "Signed in to the demo service" in result.text and name in result.text

        kiosk = re.search(r"SIP2 gateway at (\S+) for kiosks: login (\S+), password (\S+)", output)
        assert kiosk and kiosk.group(1) == f"127.0.0.1:{sip2_port}"
        answer = asyncio.run(
            kiosk_checks_card(sip2_port, kiosk.group(2), kiosk.group(3), card, pin)
        )
        assert (answer.get("BL"), answer.get("CQ"), answer.get("AE")) == ("Y", "Y", name)

        search = re.search(r"Search the sample catalogue .*?: (\S+)", log.read_text())
        assert search and search.group(1) == f"http://127.0.0.1:{port}/search?q=history"
        found = httpx.get(
            f"http://127.0.0.1:{port}/api/search", params={"q": "history", "wait": "10"}, timeout=30
        ).json()
        assert found["complete"] and found["total"] > 20
        assert [target["name"] for target in found["targets"]] == ["local"]
    finally:
        demo.terminate()
        demo.wait(timeout=10)
