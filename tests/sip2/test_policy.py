"""What a vendor's policy lets through of an LMS answer, field by field."""

from __future__ import annotations

from libgate.config import VendorPolicy
from libgate.sip2 import Message
from libgate.sip2.gateway._policy import released

CARD = "29990000000041"


def test_a_card_number_leaves_as_the_vendors_pseudonym_wherever_it_is_carried() -> None:
    item = Message.build(
        "18",
        {"circulation_status": "08", "security_marker": "02", "fee_type": "01"},
        [("AB", "31000000000041"), ("AJ", "A book"), ("CY", CARD)],
    )
    policy = VendorPolicy(fields=["AB", "AJ", "CY"])  # type: ignore[call-arg]
    answer = released(policy, item, lambda card: f"pseudonym-of-{card}")
    assert answer.get("CY") == f"pseudonym-of-{CARD}"
    real = VendorPolicy(fields=["AB", "AJ", "CY"], real_card=True)  # type: ignore[call-arg]
    assert released(real, item, lambda card: "unused").get("CY") == CARD
