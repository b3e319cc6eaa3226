"""The demo's random customers: a rare draw of fields that no segment values satisfy is drawn again
(a 100 000-customer gas-tiered demo once stopped on one) rather than ending the demo."""

from __future__ import annotations

import random

import pytest

from crmctl.errors import InvalidInput
from crmctl.policies import load_policy
from crmctl.rules import customers as rules
from crmctl.services.demo import names


def _index(policy: str):
    pol, _ = load_policy(policy)
    return pol, rules.SegmentIndex(pol)


def test_a_draw_no_segments_satisfy_is_drawn_again(monkeypatch):
    pol, idx = _index("gas-tiered")
    real = names.segment_values
    calls = []

    def unlucky(rng, idx, fields=None):
        calls.append(fields)
        if len(calls) == 1:
            raise InvalidInput("no segment values for these fields")
        return real(rng, idx, fields)

    monkeypatch.setattr(names, "segment_values", unlucky)
    raw, fields, segs = names.customer_values(random.Random(3), idx, pol.fields, 1)
    assert len(calls) == 2 and set(raw) == {f.key for f in pol.fields}
    assert rules.normalise_segments(idx, segs, fields=fields) == segs


def test_never_satisfied_is_one_error(monkeypatch):
    pol, idx = _index("gas-tiered")

    def never(rng, idx, fields=None):
        raise InvalidInput("no")

    monkeypatch.setattr(names, "segment_values", never)
    with pytest.raises(InvalidInput, match="constraints"):
        names.customer_values(random.Random(3), idx, pol.fields, 1)


@pytest.mark.parametrize("policy", ["petrochem", "gas-tiered", "gas-service", "fuel-retail", "manufacturer"])
def test_every_draw_satisfies_the_policy(policy):
    pol, idx = _index(policy)
    rng = random.Random(11)
    for i in range(300):
        raw, fields, segs = names.customer_values(rng, idx, pol.fields, i, only=lambda f: f.required or i % 2)
        assert rules.normalise_segments(idx, segs, fields=fields) == segs
