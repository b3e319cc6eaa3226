"""The per-user cache of validated policies: keyed by the text, the versions and the schema's source."""

from __future__ import annotations

from crmctl import policies
from crmctl.policies import parse_policy_cached, read_policy_source


def _entries(cache_home):
    return sorted((cache_home / "crmctl" / "policies").glob("*.pickle"))


def test_cache_hit_and_schema_change(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    text, _ = read_policy_source("petrochem")
    calls = []
    real = policies.parse_policy
    monkeypatch.setattr(policies, "parse_policy", lambda t, s="policy": calls.append(s) or real(t, s))
    first = parse_policy_cached(text, "v1")
    again = parse_policy_cached(text, "v1")
    assert calls == ["v1"] and again == first and len(_entries(tmp_path)) == 1
    # the same text and versions, but the schema's source changed: the pickle is not trusted
    monkeypatch.setattr(policies, "_schema_digest", "0" * 64)
    third = parse_policy_cached(text, "v1")
    assert calls == ["v1", "v1"] and third == first and len(_entries(tmp_path)) == 2


def test_schema_digest_follows_the_source():
    assert policies.schema_digest() == policies.schema_digest()
    assert len(policies.schema_digest()) == 64
