"""Issue 17: the administrator's commands (db, staff, policy, calendar set-year, init) in Chinese
(--lang zh): refusals are one Chinese ``错误:`` line, exit 1, no traceback; summary lines are Chinese.
The same commands in English (--lang en) show no Chinese outside the data."""

from __future__ import annotations

import re

import pytest

from tests.conftest import Cli, assert_refused

HAN = re.compile(r"[\u4e00-\u9fff]")


def _no_chinese(text: str, *data: str) -> None:
    for d in data:
        text = text.replace(d, "")
    assert not HAN.search(text), text


@pytest.mark.sqlite_only
def test_db_check_on_a_good_database(petrochem: Cli):
    out = petrochem.ok("--lang", "zh", "db", "check")
    assert out.startswith("正常：已检查完整性和外键，数据库结构 ")
    assert "审计记录共" in out and "哈希链完整" in out
    en = petrochem.ok("--lang", "en", "db", "check")
    assert en.startswith("ok: integrity and foreign keys checked, schema ")
    _no_chinese(en)


@pytest.mark.sqlite_only
def test_db_backup_success_and_refusals(petrochem: Cli, tmp_path):
    dest = tmp_path / "copy.db"
    assert petrochem.ok("--lang", "zh", "db", "backup", str(dest)).strip() == str(dest)
    r = petrochem.refused_zh("db", "backup", str(dest), match=f"{dest} 已存在；如要覆盖请加 --force")
    assert r.stderr.strip() == f"错误: {dest} 已存在；如要覆盖请加 --force"
    petrochem.refused_zh("db", "backup", str(tmp_path / "nope" / "x.db"), match="备份文件夹")
    r = petrochem("--lang", "en", "db", "backup", str(dest))
    assert_refused(r, f"{dest} exists; pass --force to overwrite")
    _no_chinese(r.stderr)


def test_db_upgrade_of_a_current_database(petrochem: Cli):
    assert petrochem.ok("--lang", "zh", "db", "upgrade").startswith("数据库结构已是最新（")
    en = petrochem.ok("--lang", "en", "db", "upgrade")
    assert en.startswith("schema is current (")
    _no_chinese(en)


def test_no_database(tmp_path):
    cli = Cli(tmp_path / "missing.db")
    r = cli("--lang", "zh", "db", "check")
    assert_refused(r, "没有数据库：请先运行 'crmctl init --policy NAME'（或指定 --db）", prefix="错误:")
    r = cli("--lang", "en", "db", "check")
    assert_refused(r, "no database at")
    _no_chinese(r.stderr)


def test_staff_add_of_a_duplicate_login(petrochem: Cli):
    petrochem.ok("staff", "add", "zhangwei", "--name", "张伟", "--role", "sales")
    r = petrochem.refused_zh("staff", "add", "zhangwei", "--name", "张伟", "--role", "sales")
    assert r.stderr.strip() == "错误: 员工登录名 'zhangwei' 已存在"
    petrochem.refused_zh("staff", "add", "ZhangWei", "--name", "张伟", "--role", "sales",
                         match="员工登录名 'ZhangWei' 已存在（为 zhangwei）")
    petrochem.refused_zh("staff", "add", "lina", "--name", "李娜", "--role", "nope", match="未知的角色 'nope'")
    r = petrochem.refused("--lang", "en", "staff", "add", "zhangwei", "--name", "张伟", "--role", "sales",
                          match="staff login 'zhangwei' already exists")
    _no_chinese(r.stderr)


def test_staff_leave_summary_and_an_administrators_act(petrochem: Cli):
    for login in ("zhangwei", "wangfang"):
        petrochem.ok("staff", "add", login, "--name", login, "--role", "sales")
    r = petrochem.refused_zh("staff", "add", "lina", "--name", "李娜", "--role", "sales", actor="zhangwei")
    assert r.stderr.strip() == "错误: zhangwei 无权添加员工：只有管理员可以"
    r = petrochem.refused("--lang", "en", "staff", "add", "lina", "--name", "李娜", "--role", "sales", actor="zhangwei",
                          match="zhangwei may not add staff: only an administrator may")
    _no_chinese(r.stderr, "李娜")
    out = petrochem.ok("--lang", "zh", "staff", "leave", "zhangwei", "--handover-to", "wangfang")
    assert out.startswith("zhangwei 已离职；已移交给 wangfang：0 个客户、0 个联系人")
    petrochem.ok("staff", "add", "lina", "--name", "lina", "--role", "sales")
    en = petrochem.ok("--lang", "en", "staff", "leave", "lina", "--handover-to", "wangfang")
    assert en.startswith("lina left; handed over to wangfang: 0 customers")
    _no_chinese(en)


def test_policy_check_of_a_bad_file(petrochem: Cli, tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("[policy\n", encoding="utf-8")
    r = petrochem.refused_zh("policy", "check", str(bad))
    assert r.stderr.startswith("错误: ")
    assert HAN.search(r.stderr.splitlines()[0].removeprefix("错误: "))
    ok = petrochem.ok("--lang", "zh", "policy", "check", "petrochem")
    assert ok.strip().endswith("：没有问题")
    en = petrochem.ok("--lang", "en", "policy", "check", "petrochem")
    assert en.strip().endswith(": ok")
    _no_chinese(en)


def test_policy_apply_of_the_same_policy_and_show_of_an_unknown_version(petrochem: Cli):
    petrochem.refused_zh("policy", "apply", "petrochem", match="与当前制度（第 1 版）相比没有变更")
    petrochem.refused_zh("policy", "show", "--version", "9", match="没有第 9 版制度（当前为第 1 版）")
    assert petrochem.ok("--lang", "zh", "policy", "diff", "petrochem").strip() == "与第 1 版相比没有变更"
    r = petrochem.refused("--lang", "en", "policy", "show", "--version", "9", match="no policy version 9 (current is 1)")
    _no_chinese(r.stderr)
    en = petrochem.ok("--lang", "en", "policy", "diff", "petrochem")
    assert en.strip() == "no change against version 1"


def test_calendar_set_year_errors(petrochem: Cli, tmp_path):
    petrochem.refused_zh("calendar", "set-year", "2099", "--remove", match="没有为 2099 年载入安排")
    petrochem.refused_zh("calendar", "set-year", "2099", str(tmp_path / "none.toml"), match="没有文件")
    petrochem.refused_zh("calendar", "set-year", "2099", "x.toml", "--remove", match="请给出 FILE 或 --remove，不能同时给出")
    f = tmp_path / "2099.toml"
    f.write_text('[holidays]\n2099-01-01 = "元旦"\nfoo = "bar"\n', encoding="utf-8")
    petrochem.refused_zh("calendar", "set-year", "2099", str(f), match="2099.toml：holidays.foo：不是日期（YYYY-MM-DD）")
    f.write_text('year = 2098\n[holidays]\n2099-01-01 = "元旦"\n', encoding="utf-8")
    petrochem.refused_zh("calendar", "set-year", "2099", str(f), match="该文件是 2098 年的，不是 2099 年的")
    r = petrochem.refused("--lang", "en", "calendar", "set-year", "2099", "--remove", match="no schedule was loaded for 2099")
    _no_chinese(r.stderr)


def test_calendar_set_year_summary(petrochem: Cli, tmp_path):
    f = tmp_path / "2099.toml"
    f.write_text('[holidays]\n2099-01-01 = "元旦"\n[workdays]\n2099-01-04 = "元旦调休"\n', encoding="utf-8")
    r = petrochem("--lang", "zh", "calendar", "set-year", "2099", str(f))
    assert r.exit_code == 0, r.stderr
    assert r.stdout.strip() == "2099：已从 2099.toml 载入 1 个节假日和 1 个调休上班日"
    assert r.stderr.strip() == "已算出的期限保持原日期不变"
    r = petrochem("--lang", "en", "calendar", "set-year", "2099", str(f))
    assert r.stdout.strip() == "2099: 1 holidays and 1 make-up working days loaded from 2099.toml (replacing the one loaded before)"
    _no_chinese(r.stdout + r.stderr)
    assert petrochem.ok("--lang", "zh", "calendar", "set-year", "2099", "--remove").strip() == (
        "2099：已删除载入的安排；重新按 crmctl 的估算计算")


def test_init_summary_and_refusal(tmp_path):
    db = tmp_path / "new.db"
    cli = Cli(db)
    r = cli("--lang", "zh", "init", "--policy", "petrochem", "--admin", "admin", actor="")
    assert r.exit_code == 0, r.stderr
    assert r.stderr.startswith("已按制度 petrochem（第 1 版）初始化；管理员 admin 拥有角色 ")
    r = cli("--lang", "zh", "init", "--policy", "petrochem", "--admin", "admin", actor="")
    assert_refused(r, f"{db} 已存在；请另选 --db 或删除它", prefix="错误:")
    r = cli("--lang", "en", "init", "--policy", "petrochem", "--admin", "admin", actor="")
    assert_refused(r, f"{db} already exists; choose another --db or remove it")
    _no_chinese(r.stderr)


def test_acting_for_another_is_refused_in_chinese(petrochem: Cli):
    petrochem.ok("staff", "add", "zhangwei", "--name", "张伟", "--role", "sales")
    r = petrochem.refused_zh("customer", "list", actor="ghost")
    assert "'ghost' 不是员工（见 'crmctl staff list'）" in r.stderr
    r = petrochem.refused("--lang", "en", "customer", "list", actor="ghost")
    assert "'ghost' is not a staff member" in r.stderr
    _no_chinese(r.stderr)
