"""The language of messages (issue 17, the foundation): --lang, $CRMCTL_LANG, the locale, the
policy's language; 错误:/警告: prefixes; Click's own words in Chinese.  The rest of the suite runs in
English (tests/conftest.py sets CRMCTL_LANG=en)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.conftest import Cli, assert_refused

POLY = ["--segment", "product_line=polyolefin", "--segment", "channel=distributor", "--segment", "sales_form=auction"]


@pytest.fixture
def no_language(monkeypatch):
    """No language from the environment: neither CRMCTL_LANG nor a locale."""
    for var in ("CRMCTL_LANG", "LC_ALL", "LC_MESSAGES", "LANG", "LANGUAGE"):
        monkeypatch.delenv(var, raising=False)


def test_lang_zh_refusal_is_one_chinese_error_line(petrochem: Cli):
    r = petrochem.refused_zh("customer", "show", "NOPE", match="没有客户 'NOPE'")
    assert r.stderr.strip() == "错误: 没有客户 'NOPE'"


def test_lang_zh_refusal_of_a_change_leaves_the_data(petrochem: Cli):
    code = petrochem.ok("customer", "add", "--name", "河北华塑化工有限公司", *POLY).strip()
    petrochem.refused_zh("customer", "submit", code, match=f"客户 {code} 缺少有效证件")
    petrochem.refused_zh("approve", code, match=f"客户 {code} 的状态是 潜在客户，只有待审批的准入才能批准（请先提交）")


def test_lang_en_is_english(petrochem: Cli):
    r = petrochem("--lang", "en", "customer", "show", "NOPE")
    assert_refused(r, "no customer 'NOPE'")


def test_crmctl_lang_env_chooses_chinese(petrochem: Cli, monkeypatch):
    monkeypatch.setenv("CRMCTL_LANG", "zh")
    assert_refused(petrochem("customer", "show", "NOPE"), "没有客户", prefix="错误:")
    # --lang is stronger than the environment
    assert_refused(petrochem("--lang", "en", "customer", "show", "NOPE"), "no customer")


@pytest.mark.parametrize("var", ["LANG", "LC_MESSAGES", "LC_ALL"])
def test_locale_chooses_chinese(petrochem: Cli, monkeypatch, no_language, var):
    monkeypatch.setenv(var, "zh_CN.UTF-8")
    assert_refused(petrochem("customer", "show", "NOPE"), "没有客户", prefix="错误:")


def test_lc_all_wins_over_lang(petrochem: Cli, monkeypatch, no_language):
    monkeypatch.setenv("LANG", "zh_CN.UTF-8")
    monkeypatch.setenv("LC_ALL", "en_US.UTF-8")
    assert_refused(petrochem("customer", "show", "NOPE"), "no customer")


def test_the_builtin_policy_speaks_chinese_when_nothing_else_chooses(petrochem: Cli, no_language):
    assert_refused(petrochem("customer", "show", "NOPE"), "没有客户", prefix="错误:")


def test_a_c_locale_leaves_the_choice_to_the_policy(petrochem: Cli, monkeypatch, no_language):
    monkeypatch.setenv("LANG", "C.UTF-8")
    assert_refused(petrochem("customer", "show", "NOPE"), "没有客户", prefix="错误:")


def test_a_policy_without_language_speaks_english(tmp_path, no_language):
    from crmctl.policies import builtin_dir

    text = (builtin_dir() / "petrochem.toml").read_text(encoding="utf-8").replace('language = "zh"\n', "")
    assert "language" not in text.split("[roles]")[0]
    f = tmp_path / "p.toml"
    f.write_text(text, encoding="utf-8")
    cli = Cli(tmp_path / "en.db")
    cli.ok("init", "--policy", str(f), "--admin", "admin", actor="")
    assert_refused(cli("customer", "show", "NOPE"), "no customer 'NOPE'")


def test_the_policy_schema_knows_the_language():
    from crmctl.policies import BUILTIN_NAMES, load_policy

    for name in BUILTIN_NAMES:
        assert load_policy(name)[0].policy.language == "zh"


def test_unknown_lang_is_a_usage_error(petrochem: Cli):
    r = petrochem("--lang", "fr", "customer", "show", "NOPE")
    assert r.exit_code == 2 and "Traceback" not in r.stderr
    assert "'fr' is not a language crmctl speaks" in r.stderr


def test_unknown_crmctl_lang_is_a_usage_error(petrochem: Cli, monkeypatch):
    monkeypatch.setenv("CRMCTL_LANG", "fr")
    r = petrochem("customer", "show", "NOPE")
    assert r.exit_code == 2 and "CRMCTL_LANG=fr names no language" in r.stderr


def test_click_words_in_chinese(petrochem: Cli):
    r = petrochem("--lang", "zh", "customer", "--help")
    assert r.exit_code == 0
    for word in ("用法:", "选项", "命令", "显示此帮助信息并退出。"):
        assert word in r.stdout, word
    for english in ("Usage:", "Options", "Commands", "Show this message and exit."):
        assert english not in r.stdout, english


def test_click_words_stay_english_in_english(petrochem: Cli):
    petrochem("--lang", "zh", "customer", "--help")  # the same process: nothing of Chinese stays
    r = petrochem("customer", "--help")
    for word in ("Usage:", "Options", "Commands", "Show this message and exit."):
        assert word in r.stdout, word
    r = petrochem("customer", "add", "--nme", "x")
    assert r.exit_code == 2 and "No such option: --nme" in r.stderr


def test_click_usage_errors_in_chinese(petrochem: Cli):
    r = petrochem("--lang", "zh", "customer", "add", "--nme", "x")
    assert r.exit_code == 2 and "Traceback" not in r.stderr
    assert "用法: crmctl" in r.stderr and "没有选项: --nme" in r.stderr and "错误" in r.stderr
    r = petrochem("--lang", "zh", "complaint", "open", "C1")
    assert r.exit_code == 2 and "缺少选项 '--summary'。" in r.stderr
    r = petrochem("--lang", "zh", "customer", "shw")
    assert r.exit_code == 2 and "没有命令 'shw'" in r.stderr and "您是不是要用 'show'？" in r.stderr


def test_chinese_warning_prefix(petrochem: Cli):
    code = petrochem.ok("customer", "add", "--name", "某公司", *POLY).strip()
    petrochem.ok("complaint", "open", code, "--summary", "延误")
    r = petrochem("--lang", "zh", "complaint", "close", "1", "--resolution", "已处理")
    assert r.stderr.startswith("警告: --resolution 已改名为 --note（旧名称将在以后的版本中取消）\n"), r.stderr


def test_the_catalogue_is_read_only_for_chinese():
    code = ("import crmctl.i18n as i; i.reset(); i._('no customer {code}'); print(i._catalogue is None)")
    env = {"CRMCTL_LANG": "en", "PATH": ""}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env={**env, **_pythonpath()})
    assert out.stdout.strip() == "True", out.stderr


def test_typer_rich_panels_are_translated_when_typer_loads_them(tmp_path):
    """Chinese commands leave typer.rich_utils (rich's markdown and syntax: ~30 ms) unimported until
    Typer prints a help or an error; it is translated then, in the same process."""
    code = ("import sys\n"
            "from crmctl.cli import app\n"
            "def run(*args):\n"
            "    try:\n"
            "        app(['--lang', 'zh', *args], prog_name='crmctl')\n"
            "    except SystemExit:\n"
            "        pass\n"
            "run('staff', 'list', '--db', sys.argv[1])\n"
            "print('loaded:', 'typer.rich_utils' in sys.modules, file=sys.stderr)\n"
            "run('customer', 'shw')\n"
            "run('grade', '--help')\n")
    env = {"PATH": "", "CRMCTL_NOW": "2026-11-30T10:00:00", "CRMCTL_USER": "admin", "COLUMNS": "100"}
    out = subprocess.run([sys.executable, "-c", code, str(tmp_path / "none.db")], capture_output=True, text=True,
                         env={**env, **_pythonpath()})
    assert "loaded: False" in out.stderr, out.stderr
    assert "没有命令 'shw'" in out.stderr and "您是不是要用 'show'？" in out.stderr, out.stderr
    assert "用法: crmctl grade [选项] 命令 [参数]..." in out.stdout and "╭─ 命令 " in out.stdout, out.stdout


def _pythonpath() -> dict:
    import os

    return {"PYTHONPATH": os.environ["PYTHONPATH"]} if os.environ.get("PYTHONPATH") else {}


def test_the_demo_speaks_the_policy_language_from_its_first_line(tmp_path, no_language):
    out = Cli(tmp_path / "d.db", actor="").ok("demo", "--customers", "10")
    first = out.splitlines()[:3]
    assert first[0].startswith("数据库：") and first[1].startswith("制度："), first
