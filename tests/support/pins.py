"""Every PIN the suite types, so the last test can prove none of them leaked anywhere.

Test PINs are distinctive (letters around random digits) so that finding one in a log or a
database dump cannot be a coincidence of timestamps or hash text. (The demo's 4-digit sample
PINs are printed by design and are not tracked here.)"""

from __future__ import annotations

import secrets

USED: set[str] = set()


def new_pin() -> str:
    pin = f"Kq{secrets.randbelow(10**8):08d}Zx"
    USED.add(pin)
    return pin
