"""``db backup FILE --keep N``: which files are of FILE's series, and which of them go (issue 19)."""

from __future__ import annotations

from crmctl.rules.rotation import in_series, series, to_remove


def test_a_name_is_prefix_stamp_suffix():
    assert series("crm-2026-12-01.db") == ("crm-", ".db")
    assert series("weekly_20261201T0400.dump") == ("weekly_", ".dump")
    assert series("crm2-2026-12-01.db") == ("crm", ".db")
    assert series("7") == ("", "")
    assert series("weekly.bak") is None and series("备份.db") is None


def test_the_members_of_a_series():
    p, s = "crm-", ".db"
    assert in_series("crm-2026-11-24.db", p, s) and in_series("crm-20261124T0400.db", p, s)
    assert in_series("crm-3.db", p, s)
    for other in ("crm-.db", "crm-old.db", "crm-2026-12-01.db.partial-77", "crm-2026-12-01 (copy).db",
                  "crm-2026-12-01-.db", "crm-x2026.db", "crm.db", "crm-2026-12-01.dump", "xcrm-2026-12-01.db"):
        assert not in_series(other, p, s), other


def test_the_newest_are_kept_the_one_just_written_among_them():
    files = [("crm-2026-11-01.db", 100.0), ("crm-2026-11-08.db", 200.0), ("crm-2026-11-15.db", 300.0),
             ("crm-2026-11-22.db", 400.0), ("crm.db", 1.0), ("notes-2026.txt", 2.0), ("crm-old.db", 3.0)]
    written = ("crm-2026-12-01.db", 500.0)
    assert to_remove(files + [written], written[0], 3) == ["crm-2026-11-01.db", "crm-2026-11-08.db"]
    assert to_remove(files + [written], written[0], 1) == ["crm-2026-11-01.db", "crm-2026-11-08.db",
                                                           "crm-2026-11-15.db", "crm-2026-11-22.db"]
    assert to_remove(files + [written], written[0], 10) == []
    # a stamp older than the files beside it: what was just written is kept all the same
    assert to_remove(files + [("crm-2020-01-01.db", 50.0)], "crm-2020-01-01.db", 2) == [
        "crm-2026-11-01.db", "crm-2026-11-08.db", "crm-2026-11-15.db"]
    # equal times: the later name is the newer
    assert to_remove([("b-1.db", 5.0), ("b-2.db", 5.0), ("b-3.db", 9.0)], "b-3.db", 2) == ["b-1.db"]
    assert to_remove(files, "weekly.bak", 1) == []
