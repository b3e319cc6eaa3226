"""Hostile files: refused cleanly and quickly, nothing written."""

from __future__ import annotations

import time

from tests.conftest import Cli


def test_huge_policy_file_refused_fast(petrochem: Cli, tmp_path):
    big = tmp_path / "big.toml"
    with big.open("w", encoding="utf-8") as fh:
        fh.write("[policy]\n")
        line = "# " + "x" * 1000 + "\n"
        for _ in range(50_000):  # ~50 MB
            fh.write(line)
    t0 = time.perf_counter()
    petrochem.refused("policy", "check", str(big), match="MB")
    petrochem.refused("policy", "apply", str(big), match="MB")
    assert time.perf_counter() - t0 < 10


def test_csv_with_a_10mb_cell(petrochem: Cli, tmp_path):
    f = tmp_path / "huge.csv"
    f.write_text("name,product_line,channel,sales_form\n" + "甲" * 10_000_000 + ",polyolefin,direct,plan\n",
                 encoding="utf-8")
    t0 = time.perf_counter()
    petrochem.refused("customer", "import", str(f), match="longer than")
    assert time.perf_counter() - t0 < 20


def test_csv_mixed_encodings(petrochem: Cli, tmp_path):
    f = tmp_path / "mixed.csv"
    f.write_bytes("name,product_line,channel,sales_form\n甲,polyolefin,direct,plan\n".encode("utf-8")
                  + "乙,polyolefin,direct,plan\n".encode("gbk"))
    petrochem.refused("customer", "import", str(f), match="line 3")
    petrochem.refused("customer", "import", str(f), "--encoding", "gbk")


def test_binary_file_as_policy(petrochem: Cli, tmp_path):
    f = tmp_path / "x.toml"
    f.write_bytes(bytes(range(256)) * 10)
    petrochem.refused("policy", "check", str(f))
