"""Codes given by code or by the policy's (Chinese) label: one lookup for every label table."""

from __future__ import annotations

from typing import Mapping

from .errors import Invalid, Msg


def pick_code(table: Mapping[str, str], value: str | None, what: str, option: str) -> str:
    """``value`` by code or by label in a policy label table; ValueError naming ``option`` otherwise."""
    text = (value or "").strip()
    if text in table:
        return text
    for code, label in table.items():
        if text == label:
            return code
    lowered = {c.lower(): c for c in table}
    if text.lower() in lowered:
        return lowered[text.lower()]
    known = ", ".join(f"{c} ({lb})" for c, lb in table.items()) or "none"
    raise Invalid(Msg("{option}: unknown {what} '{value}': the policy has {known}", option=option, what=what, value=value, known=known))
