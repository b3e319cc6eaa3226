"""Pure grading rules: bands, ranks, factor scores, step limits, stability, churn, allocation."""

from __future__ import annotations

import math
from datetime import date
from types import SimpleNamespace as NS

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crmctl.policies import load_policy
from crmctl.rules import grading as g


@pytest.fixture(scope="module")
def petro():
    return load_policy("petrochem")[0].grading.scales["polyolefin"]


@pytest.fixture(scope="module")
def fuel():
    return load_policy("fuel-retail")[0].grading.scales["big"]


@pytest.fixture(scope="module")
def gas():
    return load_policy("gas-tiered")[0].grading.scales["big"]


# ---------------------------------------------------------------------------------------------
# Numbers users type


@pytest.mark.parametrize("text", ["-1", "-0.5", "abc", "", "nan", "NaN", "inf", "-inf", "1e309", "1e13", "1,00", "1,2"])
def test_bad_quantities_refused(text):
    with pytest.raises(ValueError):
        g.parse_quantity(text, "qty")


@pytest.mark.parametrize("text,value", [("0", 0.0), ("12.5", 12.5), (" 3000 ", 3000.0), ("1e3", 1000.0)])
def test_good_quantities(text, value):
    assert g.parse_quantity(text) == value


@pytest.mark.parametrize("text", ["0", "11", "7.5", "x", ""])
def test_factor_values_are_whole_1_to_10(text):
    with pytest.raises(ValueError):
        g.parse_factor_value(text, "credit")


# ---------------------------------------------------------------------------------------------
# Threshold bands


@pytest.mark.parametrize("value,grade", [(0, "ordinary"), (1999.99, "ordinary"), (2000, "silver"), (7999, "silver"),
                                         (8000, "gold"), (19999, "gold"), (20000, "diamond"), (1e9, "diamond")])
def test_fuel_retail_half_year_bands(fuel, value, grade):
    assert fuel.bands[g.threshold_band(fuel.bands, value)].grade == grade


def test_threshold_many_with_step_limit_and_fixed(petro):
    values = [3500, 3500, 500, 2500, 50]
    computed, grades, notes = g.grade_threshold_many(
        petro, values, ["auction", "star2", "star3", None, "star3"], [None, None, None, None, ("ordinary", 0)])
    assert computed == ["star3", "star3", "ordinary", "star2", "ordinary"]
    assert grades == ["ordinary", "star3", "star2", "star2", "ordinary"]
    assert notes[1] is None and notes[3] is None
    reasons = [g.threshold_reason(petro, v, n, "t") for v, n in zip(values, notes)]
    assert reasons[0] == "best month 3500 in [3000, ∞) t → star3; step limit 1 from auction → ordinary"
    assert reasons[1] == "best month 3500 in [3000, ∞) t → star3"
    assert reasons[2] == "best month 500 in [0, 1000) t → ordinary; step limit 1 from star3 → star2"
    assert reasons[4].startswith("fixed grade ordinary")


@given(st.lists(st.floats(min_value=0, max_value=1e7, allow_nan=False), min_size=2, max_size=40))
def test_threshold_grades_are_monotone(values):
    scale = load_policy("fuel-retail")[0].grading.scales["big"]
    order = scale.grade_codes
    _c, grades, _n = g.grade_threshold_many(scale, values, [None] * len(values))
    pairs = sorted(zip(values, grades))
    ranks = [order.index(gr) for _v, gr in pairs]
    assert ranks == sorted(ranks), "a larger volume never gets a lower grade"


# ---------------------------------------------------------------------------------------------
# Step limit


@given(st.integers(0, 4), st.integers(0, 4), st.integers(1, 4))
def test_step_limit_never_moves_more_than_n(prev, target, n):
    codes = ["a", "b", "c", "d", "e"]
    out = g.limit_steps(codes, codes[prev], codes[target], n)
    moved = codes.index(out) - prev
    assert abs(moved) <= n
    assert abs(moved) == min(n, abs(target - prev))
    assert (moved > 0) == (target > prev) or moved == 0


def test_step_limit_without_previous_or_limit():
    codes = ["a", "b", "c"]
    assert g.limit_steps(codes, None, "c", 1) == "c"
    assert g.limit_steps(codes, "a", "c", None) == "c"


# ---------------------------------------------------------------------------------------------
# Rank bands


BANDS = [NS(grade="level1", share=10), NS(grade="level2", share=30), NS(grade="level3", share=60)]


def test_band_limits_round_down_exactly():
    assert g.rank_band_limits([10, 30, 60], 40) == [4, 16, 40]
    assert g.rank_band_limits([10, 30, 60], 10) == [1, 4, 10]  # exactly 1, not floor(0.9999999)
    assert g.rank_band_limits([10, 30, 60], 11) == [1, 4, 11]  # floor(1.1)=1, floor(4.4)=4
    assert g.rank_band_limits([10, 30, 60], 11, rounding="up") == [2, 5, 11]


# gas-tiered Art. 8: 前10% / 11%-40% / 后60% -- the sizes of level 1, 2, 3 for n ranked customers
@pytest.mark.parametrize("n,sizes", [
    (1, [0, 0, 1]),  # fewer customers than bands: the shares rounded down, the rest last
    (2, [0, 0, 2]),
    (3, [1, 1, 1]),  # at least one per band once n >= 3
    (9, [1, 2, 6]),  # floor(0.9) = 0 -> 1 (at least one); floor(3.6) = 3
    (10, [1, 3, 6]),
    (11, [1, 3, 7]),  # not 2 in level 1 (18 %)
    (20, [2, 6, 12]),
    (101, [10, 30, 61]),
])
def test_rank_band_sizes(n, sizes):
    placed = g.rank_grades([float(n - i) for i in range(n)], BANDS)  # all different
    assert [sum(1 for p in placed if p.band == k) for k in range(3)] == sizes
    assert [p.rank for p in placed] == list(range(1, n + 1))


def test_all_tied_customers_are_not_all_top():
    placed = g.rank_grades([5.0] * 10, BANDS, has_data=[False] * 10)
    assert {p.band for p in placed} == {2} and {p.rank for p in placed} == {1}
    # the old behaviour, as a policy choice: ties across an edge share the better band
    assert {p.band for p in g.rank_grades([5.0] * 10, BANDS, edge_ties="upper")} == {0}


def test_tie_break_metrics_order_equal_scores():
    # equal scores: yearly volume decides, then the spread; unknown values last
    placed = g.rank_grades([7.0, 7.0, 7.0, 7.0, 1.0] + [0.5] * 5, BANDS,
                           tie_values=[[100, 3.0], [200, None], [200, 2.5], [100, 3.0], [1, 1]] + [[0, 0]] * 5)
    assert [p.rank for p in placed[:5]] == [3, 2, 1, 3, 5]
    assert placed[2].band == 0  # the only level-1 place of 10
    # 0 and 3 are tied on every key (positions 3-4, within level 2's limit of 4): both level 2
    assert placed[0].band == placed[3].band == 1


def test_customers_without_data_rank_after_those_with_data():
    placed = g.rank_grades([9.0, 1.0, 2.0], BANDS, has_data=[False, True, True])
    assert [p.rank for p in placed] == [3, 2, 1]
    assert [p.band for p in placed] == [2, 1, 0]


@settings(max_examples=200)
@given(st.lists(st.integers(0, 30), min_size=1, max_size=120), st.sampled_from(["lower", "upper"]))
def test_rank_bands_properties(raw, edge_ties):
    scores = [x / 3 for x in raw]
    placed = g.rank_grades(scores, BANDS, edge_ties=edge_ties)
    n = len(scores)
    limits = g.rank_band_limits([b.share for b in BANDS], n)
    # every ranked customer gets exactly one band; equal scores share one
    assert len(placed) == n and all(0 <= p.band < len(BANDS) for p in placed)
    by_score = {}
    for sc, p in zip(scores, placed):
        by_score.setdefault(sc, set()).add(p.band)
    assert all(len(ks) == 1 for ks in by_score.values())
    # a better score never lands in a worse band
    pairs = sorted(zip(scores, (p.band for p in placed)), key=lambda q: -q[0])
    assert [k for _s, k in pairs] == sorted(k for _s, k in pairs)
    # the limits: rounded down, increasing, the last is n; at least one per band once n >= bands
    cum = 0
    for k, b in enumerate(BANDS[:-1]):
        cum += b.share
        assert limits[k] >= math.floor(cum * n / 100)
        if n < len(BANDS):
            assert limits[k] == math.floor(cum * n / 100)
    assert limits[-1] == n
    if n >= len(BANDS):
        assert all(limits[k] < limits[k + 1] for k in range(len(BANDS) - 1)) and limits[0] >= 1
    # the top k bands together never hold more than their limit (edge ties go lower) ...
    if edge_ties == "lower":
        for k in range(len(BANDS)):
            assert sum(1 for p in placed if p.band <= k) <= limits[k]
    # ... and without ties each band holds exactly its places
    if len(set(scores)) == n:
        sizes = [sum(1 for p in placed if p.band == j) for j in range(len(BANDS))]
        assert sizes == [limits[0]] + [limits[j] - limits[j - 1] for j in range(1, len(BANDS))]


# ---------------------------------------------------------------------------------------------
# Factor scores


def test_factor_score_is_linear_inside_a_band(gas):
    vol = gas.factors["volume"].bands
    assert g.factor_score(vol, 0) == (1.0, False)
    assert g.factor_score(vol, 500_000) == (2.0, False)  # halfway 1..3
    assert g.factor_score(vol, 1_000_000) == (4.0, False)
    assert g.factor_score(vol, 3_000_000) == (5.0, False)
    assert g.factor_score(vol, 5e7) == (10.0, False)  # above the last max
    growth = gas.factors["growth"]
    assert g.factor_score(growth.bands, -500) == (1.0, False)  # below the first min
    assert g.factor_score(growth.bands, None, growth.default_score) == (4.0, True)


@given(st.floats(min_value=-200, max_value=3e7, allow_nan=False))
def test_factor_score_within_1_to_10_and_monotone(value):
    bands = load_policy("gas-tiered")[0].grading.scales["big"].factors["volume"].bands
    s1, _ = g.factor_score(bands, value)
    s2, _ = g.factor_score(bands, value + 1000)
    assert 1 <= s1 <= 10 and s2 >= s1


def test_weighted_score_and_growth():
    assert g.weighted_score({"a": 10, "b": 5}, {"a": 25, "b": 75}) == 6.25
    assert g.growth_pct(120, 100) == 20.0
    assert g.growth_pct(50, 0) is None and g.growth_pct(50, None) is None
    assert g.unit_price(700, 200) == 3.5 and g.unit_price(None, 200) is None


def test_rank_scale_grades_with_defaults_and_ties(gas):
    cands = [g.Candidate(i, volume=v, last_volume=lv, amount=None, manual={"credit": 9} if i == 1 else None)
             for i, v, lv in [(1, 8e6, 4e6), (2, 8e6, 4e6), (3, 1e5, None), (4, 2e6, 2e6), (5, 0, 0)]]
    out = {o.key: o for o in g.grade_rank(gas, cands)}
    assert out[1].rank == 1 and out[1].grade == "level1"
    # 2 has the same volume and growth but default credit: a lower score, next rank
    assert out[2].score < out[1].score and out[2].rank == 2
    assert "credit (never scored)" in out[2].reason and "spread (cannot be computed)" in out[2].reason
    assert out[3].metrics["growth_pct"] is None and "growth" in out[3].metrics["defaulted"]
    assert sorted(o.grade for o in out.values()) == ["level1", "level2", "level3", "level3", "level3"]


# ---------------------------------------------------------------------------------------------
# Stability and churn


@pytest.mark.parametrize("status,last,want", [
    ("prospect", date(2026, 11, 1), "potential"),
    ("active", None, "potential"),
    ("active", date(2026, 10, 22), "existing"),
    ("active", date(2026, 10, 21), "lost"),
    ("suspended", date(2026, 11, 20), "existing"),
])
def test_stability(status, last, want):
    assert g.stability(status, last, date(2026, 11, 22), 1) == want


def test_stability_month_arithmetic_at_month_end():
    # 31 March minus one month is 28 February (dateutil), not 3 March
    assert g.lost_cutoff(date(2026, 3, 31), 1) == date(2026, 2, 28)
    assert g.stability("active", date(2026, 2, 27), date(2026, 3, 31), 1) == "lost"
    assert g.stability("active", date(2026, 2, 28), date(2026, 3, 31), 1) == "existing"


def test_churn_warning():
    assert g.churn_warning(70, 100, 30) and not g.churn_warning(71, 100, 30)
    assert not g.churn_warning(0, 0, 30) and not g.churn_warning(0, None, 30)
    assert g.drop_pct(50, 200) == 75.0


# ---------------------------------------------------------------------------------------------
# Allocation priority


def test_completion_and_weekly_evenness():
    assert g.completion_rate(90, 100) == 90.0 and g.completion_rate(5, None) is None
    start, end = date(2026, 10, 1), date(2026, 11, 1)
    even = {date(2026, 10, d): 10.0 for d in (1, 8, 15, 22, 29)}
    weeks = g.weekly_volumes(even, start, end)
    assert len(weeks) == 5 and weeks[-1] == pytest.approx(10 * 7 / 3)  # the 3-day tail pro-rated
    lumpy = {date(2026, 10, 2): 50.0}
    assert g.coefficient_of_variation(g.weekly_volumes(lumpy, start, end)) > \
        g.coefficient_of_variation([10, 10, 10, 10])
    assert g.coefficient_of_variation([0, 0]) is None


def test_allocation_order():
    rows = [
        {"customer": "D1", "group": "distributor", "completion_pct": 90, "weekly_cv": 0.9, "actual": 5},
        {"customer": "D2", "group": "distributor", "completion_pct": 90, "weekly_cv": 0.1, "actual": 5},
        {"customer": "A1", "group": "exclusive_agent", "completion_pct": 50, "weekly_cv": None, "actual": 5},
        {"customer": "A2", "group": "exclusive_agent", "completion_pct": None, "weekly_cv": None, "actual": 9},
        {"customer": "A3", "group": "exclusive_agent", "completion_pct": 120, "weekly_cv": None, "actual": 1},
        {"customer": "X1", "group": "direct", "completion_pct": None, "weekly_cv": None, "actual": 1},
    ]
    order = g.allocation_order(rows, ["direct", "exclusive_agent", "distributor"],
                               ["exclusive_agent", "distributor"], ["distributor"])
    assert [r["customer"] for r in order] == ["X1", "A3", "A1", "A2", "D2", "D1"]


def test_period_key_orders_shorter_periods_first():
    from crmctl.rules.periods import parse_label

    labels = ["2026-12", "2026-Q4", "2026-H2", "2026", "2026-11", "2027-01"]
    ordered = sorted(labels, key=lambda lb: g.period_key(parse_label(lb).start, parse_label(lb).end))
    assert ordered == ["2026-11", "2026-12", "2026-Q4", "2026-H2", "2026", "2027-01"]


def test_rank_reason_states_the_rounding():
    scale = NS(bands=BANDS, band_rounding="down", at_least_one=True, edge_ties="lower")
    limits = g.rank_band_limits([10, 30, 60], 3)
    [top, mid, low] = g.rank_grades([3.0, 2.0, 1.0], BANDS)
    assert g.rank_reason(scale, top, 3, limits, 3.0) == (
        "score 3, rank 1 of 3: band level1 holds ranks ≤ 1 (10% × 3 = 0.3, rounded down → 1: at least one customer per band)")
    assert "(40% × 3 = 1.2, rounded down → 2" in g.rank_reason(scale, mid, 3, limits, 2.0)
    assert g.rank_reason(scale, low, 3, limits, 1.0).endswith("holds ranks ≤ 3 (the rest)")
    tied = g.rank_grades([1.0] * 10, BANDS)
    assert "tied at ranks 1-10 across the edge at 1: placed in the lower band" in g.rank_reason(
        scale, tied[0], 10, g.rank_band_limits([10, 30, 60], 10), 1.0)


def test_price_spread_is_selling_minus_purchase():
    assert g.price_spread(3.1, 2.6) == pytest.approx(0.5)
    assert g.price_spread(None, 2.6) is None  # no amounts: cannot be computed
    assert g.price_spread(3.1, None) == 3.1  # a scale without purchase prices


def test_purchase_price_by_period_label(gas):
    assert g.purchase_price(gas, "2025") == 2.6
    with pytest.raises(ValueError, match="no purchase price for 2031"):
        g.purchase_price(gas, "2031")
