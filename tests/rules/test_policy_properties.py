"""Property tests for the policy loader: random damage to a valid policy always gives located
problems (never an exception), and random valid threshold changes always load."""

from __future__ import annotations

import copy
import re

import pytest
import tomli_w
from hypothesis import given, settings, strategies as st

from crmctl.errors import PolicyInvalid
from crmctl.policies import BUILTIN_NAMES, check_policy, parse_policy, read_policy_source

try:
    import tomllib  # novermin (tomli below on Python 3.10)
except ModuleNotFoundError:  # pragma: no cover
    import tomli as tomllib

BASE = {name: tomllib.loads(read_policy_source(name)[0]) for name in BUILTIN_NAMES}
LOCATED = re.compile(r"^(line \d+|[A-Za-z_][\w-]*(\[\d+\])?(\.[\w-]+(\[\d+\])?)*|<root>|policy)\b")


def _paths(obj, prefix=()):
    """Every (path, value) in a parsed TOML document."""
    if isinstance(obj, dict):
        for k, v in obj.items():
            yield prefix + (k,), v
            yield from _paths(v, prefix + (k,))
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            yield prefix + (i,), v
            yield from _paths(v, prefix + (i,))


def _set(doc, path, value):
    target = doc
    for p in path[:-1]:
        target = target[p]
    target[path[-1]] = value


def _delete(doc, path):
    target = doc
    for p in path[:-1]:
        target = target[p]
    del target[path[-1]]


DAMAGE = st.sampled_from(["unknown_key", "wrong_type", "delete", "negative", "bad_ref"])


@settings(max_examples=150, deadline=None)
@given(st.sampled_from(BUILTIN_NAMES), DAMAGE, st.data())
def test_damaged_policies_give_located_problems(name, damage, data):
    doc = copy.deepcopy(BASE[name])
    paths = [p for p, _ in _paths(doc)]
    path = data.draw(st.sampled_from(paths))
    parent_is_table = len(path) >= 1
    if damage == "unknown_key":
        tables = [p for p, v in _paths(doc) if isinstance(v, dict)] + [()]
        where = data.draw(st.sampled_from(tables))
        target = doc
        for p in where:
            target = target[p]
        target["zz_not_a_key"] = 1
    elif damage == "wrong_type":
        _set(doc, path, {"nested": [1, 2]} if not isinstance(_get(doc, path), dict) else 42)
    elif damage == "delete" and parent_is_table:
        _delete(doc, path)
    elif damage == "negative":
        _set(doc, path, -1)
    else:
        _set(doc, path, "no_such_code_xyz")
    text = tomli_w.dumps(doc)
    problems = check_policy(text, "fuzz")  # never raises
    for p in problems:
        assert LOCATED.match(p), p
    if damage in ("unknown_key",):
        assert problems and any("zz_not_a_key" in p for p in problems)
    if problems:
        with pytest.raises(PolicyInvalid):
            parse_policy(text, "fuzz")


def _get(doc, path):
    target = doc
    for p in path:
        target = target[p]
    return target


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(min_value=1, max_value=10**7), min_size=3, max_size=3, unique=True))
def test_any_ascending_thresholds_load(cuts):
    cuts = sorted(cuts)
    doc = copy.deepcopy(BASE["fuel-retail"])
    bands = doc["grading"]["scales"]["big"]["bands"]
    bands[0]["max"] = bands[1]["min"] = cuts[0]
    bands[1]["max"] = bands[2]["min"] = cuts[1]
    bands[2]["max"] = bands[3]["min"] = cuts[2]
    assert check_policy(tomli_w.dumps(doc)) == []


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(min_value=1, max_value=97), min_size=2, max_size=2))
def test_rank_shares_must_sum_to_100(shares):
    doc = copy.deepcopy(BASE["gas-tiered"])
    bands = doc["grading"]["scales"]["big"]["bands"]
    bands[0]["share"], bands[1]["share"] = shares
    bands[2]["share"] = 100 - sum(shares)
    problems = check_policy(tomli_w.dumps(doc))
    if bands[2]["share"] > 0:
        assert problems == []
    else:
        assert any("share" in p for p in problems)


def test_random_bytes_are_refused_not_crashing():
    for blob in ["\x00\x01", "[[[", "a = ", "x = 1\nx = 2", "[policy]\ncode = 'X Y'"]:
        problems = check_policy(blob, "junk")
        assert problems and all(isinstance(p, str) for p in problems)
