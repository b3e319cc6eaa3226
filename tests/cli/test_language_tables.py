"""Tables and ``--labels`` CSV in the user's language (issue 17): the headings of ``customer list``,
``approve --list`` and ``doc list`` are Chinese with ``--lang zh`` and English with ``--lang en``
(where no Chinese is left outside the data and the policy's labels); fixed value labels (the kind of
a waiting request, yes/no) follow; the keys and codes of JSON and plain CSV are the same in both."""

from __future__ import annotations

import csv
import io
import json
import re

import pytest

from tests.conftest import Cli

POLY = ["--segment", "product_line=polyolefin", "--segment", "channel=distributor", "--segment", "sales_form=auction"]
CJK = re.compile(r"[\u3000-\u303f\u3400-\u9fff\uff00-\uffef]")


@pytest.fixture
def pending(petrochem: Cli) -> tuple[Cli, str]:
    """petrochem with one customer submitted for admission (its documents on file): it waits for
    the administrator, who holds every role."""
    code = petrochem.ok("customer", "add", "--name", "河北华塑化工有限公司", *POLY).strip()
    petrochem.ok("doc", "add", code, "--type", "business_license", "--number", "L-1", "--expires", "2027-06-30")
    petrochem.ok("doc", "add", code, "--type", "tax_registration", "--number", "T-1", "--expires", "2028-01-01")
    petrochem.ok("doc", "add", code, "--type", "org_code", "--expires", "2028-01-01")
    petrochem.ok("doc", "add", code, "--type", "billing_info")
    petrochem.ok("customer", "submit", code)
    return petrochem, code


def headings(table: str) -> list[str]:
    """The headings of a rich table (the line between the heavy top rule and the header's rule)."""
    line = next(ln for ln in table.splitlines() if ln.startswith("┃"))
    return [h.strip() for h in line.strip("┃").split("┃")]


def cells(table: str) -> list[list[str]]:
    """The cells of a rich table's rows."""
    return [[c.strip() for c in ln.strip("│").split("│")] for ln in table.splitlines() if ln.startswith("│")]


def policy_labels() -> set[str]:
    """The petrochem policy's own labels that a customer list shows as headings."""
    from crmctl.policies import load_policy

    pol = load_policy("petrochem")[0]
    return ({s.label for s in pol.segments} | {sc.label for sc in pol.grading.scales.values()}
            | {f.label for f in pol.fields})


def csv_rows(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))


def both(cli: Cli, *args: str) -> tuple[str, str]:
    return cli.ok("--lang", "zh", *args), cli.ok("--lang", "en", *args)


def test_customer_list_headings(pending):
    cli, code = pending
    zh, en = both(cli, "customer", "list")
    zh_h, en_h = headings(zh), headings(en)
    assert zh_h[:3] == ["编号", "名称", "状态"] and "负责人" in zh_h
    assert en_h[:3] == ["Code", "Name", "Status"] and "Owner" in en_h
    labels = policy_labels()
    assert "产品线" in en_h  # a policy's label stays the policy's
    assert not [h for h in en_h if CJK.search(h) and h not in labels], en_h
    # the same columns in the same order; the cells (data and the policy's labels) are the same
    assert len(zh_h) == len(en_h)
    assert cells(zh) == cells(en) and cells(en)[0][0] == code


def test_approve_list_headings_and_kind(pending):
    cli, code = pending
    zh, en = both(cli, "approve", "--list")
    assert headings(zh) == ["事项", "编号", "名称", "步骤", "角色", "投诉编号", "延期工作日", "提交时间"]
    assert headings(en) == ["Item", "Code", "Name", "Step", "Role", "Complaint", "Working days", "Submitted"]
    assert "客户准入" in zh and "Customer admission" in en and "客户准入" not in en
    assert code in zh and code in en


def test_doc_list_headings(pending):
    cli, _code = pending
    zh, en = both(cli, "doc", "list")
    assert headings(zh) == ["id", "客户", "名称", "类型", "证照", "编号", "有效期至", "剩余天数", "已过期", "客户状态"]
    en_h = headings(en)
    assert en_h == ["id", "Customer", "Name", "Type", "Document", "Number", "Expires", "Days left", "Expired",
                    "Customer status"]
    assert not any(CJK.search(h) for h in en_h)


@pytest.mark.parametrize("args", [("customer", "list"), ("approve", "--list"), ("doc", "list")])
def test_json_and_csv_keys_are_the_same_in_both_languages(pending, args):
    cli, _code = pending
    zh, en = both(cli, *args, "--format", "json")
    assert json.loads(zh) == json.loads(en)
    zh, en = both(cli, *args, "--format", "csv")
    assert zh == en
    assert not CJK.search(csv_rows(en)[0][0])  # the header is the JSON keys


def test_labels_csv_headings_follow_the_language(pending):
    cli, _code = pending
    plain = csv_rows(cli.ok("doc", "list", "--format", "csv"))
    zh, en = (csv_rows(t) for t in both(cli, "doc", "list", "--format", "csv", "--labels"))
    assert len(zh) == len(en) == len(plain) and len(zh[0]) == len(en[0]) == len(plain[0])
    by_key_zh, by_key_en = dict(zip(plain[0], zh[0])), dict(zip(plain[0], en[0]))
    assert (by_key_zh["customer"], by_key_zh["days_left"], by_key_zh["expired"]) == ("客户", "剩余天数", "已过期")
    assert (by_key_en["customer"], by_key_en["days_left"], by_key_en["expired"]) == ("Customer", "Days left", "Expired")
    assert not any(CJK.search(h) for h in en[0])
    expired = plain[0].index("expired")
    assert {r[expired] for r in zh[1:]} == {"否"} and {r[expired] for r in en[1:]} == {"no"}
    # the values of a label CSV are the same but for the language's yes/no
    assert [r[:expired] for r in zh[1:]] == [r[:expired] for r in en[1:]]


def test_labels_csv_of_the_customer_list(pending):
    cli, _code = pending
    plain = csv_rows(cli.ok("customer", "list", "--format", "csv"))
    zh, en = (csv_rows(t)[0] for t in both(cli, "customer", "list", "--format", "csv", "--labels"))
    assert zh[:3] == ["编号", "名称", "状态"] and en[:3] == ["Code", "Name", "Status"]
    i = plain[0].index("segments.product_line")
    assert zh[i] == en[i] == "产品线"  # the policy's label in both
    assert not [h for h in en if CJK.search(h) and h not in policy_labels()], en


def test_the_builtin_policy_gives_excel_users_chinese_headings(pending, monkeypatch):
    """Nothing chooses a language: the built-in policy's ``language = "zh"`` does."""
    cli, _code = pending
    for var in ("CRMCTL_LANG", "LC_ALL", "LC_MESSAGES", "LANG", "LANGUAGE"):
        monkeypatch.delenv(var, raising=False)
    head = csv_rows(cli.ok("customer", "list", "--format", "csv", "--labels"))[0]
    assert head[:3] == ["编号", "名称", "状态"]
    assert headings(cli.ok("doc", "list"))[1] == "客户"


def test_output_refusals_in_chinese(pending):
    cli, _code = pending
    r = cli("--lang", "zh", "doc", "list", "--format", "json", "--labels")
    assert r.exit_code == 1 and r.stderr.startswith("错误: --labels 把标题和标签写入 CSV：不能与 --format json 同用")
    r = cli("--lang", "en", "doc", "list", "--format", "json", "--labels")
    assert r.exit_code == 1 and "--labels writes headings and labels into CSV: it does not go with --format json" in r.stderr
