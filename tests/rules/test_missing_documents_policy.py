"""[admission] missing_documents (issue 16): what an active customer lacking a required document
gets -- validated with its key path, written out by policy show, each built-in's choice.  Pure."""

from __future__ import annotations

import copy

import pytest
import tomli_w

try:
    import tomllib  # novermin (tomli below on Python 3.10)
except ModuleNotFoundError:  # pragma: no cover
    import tomli as tomllib

from crmctl.policies import BUILTIN_NAMES, check_policy, load_policy, parse_policy, policy_to_toml, read_policy_source


def _base(name: str) -> dict:
    return copy.deepcopy(tomllib.loads(read_policy_source(name)[0]))


def test_each_builtin_chooses_and_cites_it():
    chosen = {name: load_policy(name)[0].admission.missing_documents for name in BUILTIN_NAMES}
    # petrochem Art. 7, 15: no valid qualification, no business until it is filed; the others only list
    assert chosen == {"petrochem": "suspend", "gas-service": "report", "manufacturer": "report",
                      "fuel-retail": "report", "gas-tiered": "report"}
    for name in BUILTIN_NAMES:
        lines = read_policy_source(name)[0].splitlines()
        i = next(i for i, ln in enumerate(lines) if ln.startswith("missing_documents"))
        comment = " ".join(ln for ln in lines[i - 3:i] if ln.startswith("#"))
        assert "Art. " in comment or "二." in comment, f"{name}: the choice cites no article"


def test_default_is_report_and_the_choice_round_trips():
    d = _base("petrochem")
    del d["admission"]["missing_documents"]
    assert parse_policy(tomli_w.dumps(d)).admission.missing_documents == "report"
    petro = load_policy("petrochem")[0]
    assert parse_policy(policy_to_toml(petro)).admission.missing_documents == "suspend"


@pytest.mark.parametrize("value,fragment", [
    ("stop", "must be 'suspend' or 'report'"),
    (True, "must be 'suspend' or 'report'"),
])
def test_an_unknown_value_is_refused_with_its_key_path(value, fragment):
    d = _base("petrochem")
    d["admission"]["missing_documents"] = value
    found = check_policy(tomli_w.dumps(d))
    assert any(p.startswith("admission.missing_documents:") and fragment in p for p in found), found


def test_suspend_needs_required_documents():
    d = _base("fuel-retail")
    d["admission"]["missing_documents"] = "suspend"
    assert check_policy(tomli_w.dumps(d)) == [
        "admission.missing_documents: 'suspend' needs required_documents (no document is required)"]
