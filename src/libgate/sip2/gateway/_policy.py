"""What a vendor's policy lets through: which messages it may send, and which fields of the
LMS's answers it receives."""

from __future__ import annotations

from collections.abc import Callable
from typing import get_args

from libgate.config import PatronDetail, VendorPolicy
from libgate.sip2._codec import Message, sip2_datetime
from libgate.sip2._fields import SECRET_FIELDS
from libgate.sip2._spec import MESSAGES, FixedField

# Fields that identify the request an answer belongs to: echoed in refusals.
_ECHOED = ("AO", "AA", "AB")
_PATRON_DETAILS = frozenset(get_args(PatronDetail))
# Fields that carry a card number: the patron's (AA), and the one a hold is for (CY).
_CARD_FIELDS = frozenset({"AA", "CY"})


def permits(policy: VendorPolicy, code: str) -> bool:
    return code in policy.messages


def released(policy: VendorPolicy, answer: Message, pseudonym: Callable[[str], str]) -> Message:
    """The LMS's ``answer`` as this vendor may see it: only the variable fields and the
    patron details of the fixed part its policy lists (the other details blank, SIP2's
    "not known"), never a PIN or password, and the card number replaced by the vendor's
    own pseudonym (in AA and CY) unless the policy allows the real one."""
    allowed = set(policy.fields) - SECRET_FIELDS
    fields = []
    for code, value in answer.fields:
        if code not in allowed:
            continue
        if code in _CARD_FIELDS and not policy.real_card and value:
            value = pseudonym(value)
        fields.append((code, value))
    withheld = {
        spec.name: "000" if spec.name == "language" else " " * spec.length
        for spec in answer.spec.fixed
        if spec.name in _PATRON_DETAILS and spec.name not in policy.fixed_fields
    }
    return answer.with_fields(fields).with_fixed(**withheld)


def fields_released(policy: VendorPolicy, answer: Message) -> list[str]:
    """What a vendor received of ``answer`` (as :func:`released` made it): the variable
    fields' codes, then the names of the patron details in its fixed part."""
    details = [
        spec.name
        for spec in answer.spec.fixed
        if spec.name in _PATRON_DETAILS and spec.name in policy.fixed_fields
    ]
    return answer.field_codes() + details


def _refusal_value(spec: FixedField) -> str:
    if spec.kind == "date":
        return sip2_datetime()
    if spec.name == "ok":
        return "0"
    if spec.name == "protocol_version":
        return "2.00"
    if spec.kind == "count":
        return "0" * spec.length
    if spec.allowed and "N" in spec.allowed:
        return "N"
    return " " * spec.length


def refusal(request: Message, reason: str) -> Message:
    """The protocol's "no" to ``request``: its answer message with every flag negative,
    the request's institution, patron and item echoed, and ``reason`` as screen message."""
    code = request.spec.response
    if code is None:
        raise ValueError(f"message {request.code} has no answer to refuse with")
    spec = MESSAGES[code]
    fixed = {field.name: _refusal_value(field) for field in spec.fixed}
    fields = [(c, request.get(c) or "") for c in _ECHOED if c in spec.required or request.get(c)]
    fields += [(c, "") for c in spec.required if c not in _ECHOED]
    fields.append(("AF", reason))
    return Message.build(code, fixed, fields)
