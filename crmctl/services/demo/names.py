"""Plausible sample data for the demo: Chinese names, company names, tax ids, field values and
segment combinations that satisfy any policy's constraints.  Pure apart from the random generator.
"""

from __future__ import annotations

import random
from contextlib import contextmanager
from datetime import date, timedelta

from ...errors import InvalidInput
from ...i18n import _
from ...rules import customers as rules
from ...rules.conditions import matches
from ...rules.errors import Invalid
from ...rules.taxid import ALPHABET, make_tax_id

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华玉兰飞红建华志强文斌海燕鹏辉宇浩"
PLACES = ["石家庄", "保定", "唐山", "邯郸", "沧州", "廊坊", "衡水", "邢台", "张家口", "承德", "秦皇岛", "天津",
          "济南", "德州", "郑州", "太原", "北京", "雄安"]
WORDS = ["华塑", "宏达", "鑫源", "恒通", "金泰", "瑞丰", "盛安", "永信", "利民", "东方", "新锐", "博远", "正大", "中联",
         "海川", "佳禾", "天成", "润泽", "嘉诚", "裕丰", "长城", "泰和", "中盛", "万通", "华北", "冀中", "燕赵"]
TRADES = ["化工", "塑业", "包装材料", "管业", "物流", "运输", "能源", "燃气", "机械", "建材", "商贸", "农业", "实业", "科技"]
FORMS = ["有限公司", "有限责任公司", "股份有限公司", "贸易有限公司", "集团有限公司"]


def person_name(rng: random.Random) -> str:
    return rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2))))


def company_name(rng: random.Random, i: int) -> str:
    word = rng.choice(WORDS)
    return f"{rng.choice(PLACES)}{word}{rng.choice(TRADES)}{rng.choice(FORMS)}"


def distinct_name(name: str, taken: set[str]) -> str:
    """``name``, or a branch of it (``…第2分公司``) where a company of that name (``rules.names``) is
    in ``taken`` already: the demo never makes two customers of one name.  Adds the key to ``taken``;
    draws nothing from the random generator, so the rest of the demo stays as it was."""
    from ...rules.names import name_key

    out, n = name, 1
    while name_key(out) in taken:
        n += 1
        out = f"{name}第{n}分公司"
    taken.add(name_key(out))
    return out


def sample_tax_id(rng: random.Random, i: int) -> str:
    head = "91" + f"{130000 + rng.randrange(0, 9999):06d}"
    body = f"{i:08d}"
    return make_tax_id((head + body + rng.choice(ALPHABET[:10]))[:17])


def field_value(rng: random.Random, f, i: int):
    t = f.type
    if t == "bool":
        return "true" if rng.random() < 0.15 else "false"
    if t == "choice":
        return rng.choice(list(f.choices))
    if t == "int":
        return str(rng.randrange(1, 500))
    if t == "decimal":
        return f"{rng.uniform(10, 5000):.2f}"
    if t == "date":
        return (date(2026, 1, 1) + timedelta(days=rng.randrange(0, 700))).isoformat()
    if t == "phone":
        return f"1{rng.choice('3578')}{rng.randrange(10**8, 10**9)}"
    if t == "email":
        return f"contact{i}@example.cn"
    if not f.required and rng.random() < 0.6:
        return ""
    return f"{rng.choice(PLACES)}{rng.choice(['路', '大街', '工业园'])}{rng.randrange(1, 300)}号" if "address" in f.key \
        else f"{person_name(rng)}"


def customer_values(rng: random.Random, idx: rules.SegmentIndex, fields: list, i: int,
                    only=lambda f: True) -> tuple[dict, dict, dict]:
    """Random custom fields (those ``only`` picks) and segment values that satisfy the policy
    together: (the fields as typed in a file, the fields normalised, the segments).  A rare draw of
    fields that no segment values can satisfy in a few hundred tries is drawn again."""
    for _attempt in range(20):
        raw = {f.key: field_value(rng, f, i) for f in fields if only(f)}
        normalised = rules.normalise_fields(idx, raw, complete=False)
        try:
            return raw, normalised, segment_values(rng, idx, normalised)
        except InvalidInput:
            continue
    raise InvalidInput(_("the demo could not find segment values that satisfy the policy's constraints"))


def segment_values(rng: random.Random, idx: rules.SegmentIndex, fields: dict | None = None) -> dict:
    """Random segment values that satisfy the policy (its constraints may look at ``fields``)."""
    for _attempt in range(200):
        chosen = {}
        for seg in idx.segments.values():
            values = list(seg.values)
            # A skewed choice: the first values are the common ones.
            weights = [len(values) - k for k in range(len(values))]
            chosen[seg.key] = rng.choices(values, weights)[0]
        for key, seg in idx.segments.items():
            if not matches(seg.when, segments=chosen):
                chosen.pop(key, None)
        try:
            return rules.normalise_segments(idx, chosen, fields=fields)
        except Invalid:
            continue
    raise InvalidInput(_("the demo could not find segment values that satisfy the policy's constraints"))


@contextmanager
def acting_for(app, login: str):
    """The demo's administrator acts for ``login`` (their roles, recorded as acted for) for a while."""
    before = app.settings.actor
    app._actor, app.settings.actor = None, login
    try:
        yield app
    finally:
        app._actor, app.settings.actor = None, before

