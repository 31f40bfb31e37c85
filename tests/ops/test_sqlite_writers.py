"""SQLite, the embedded default, under twenty concurrent writer processes: with the project's
settings (WAL, a 20 s busy timeout, IMMEDIATE transactions) every write lands and none fails
with "database is locked"; the same workload with SQLite's default DEFERRED transactions does
fail, so the workload really contends.

Runs in a fresh interpreter on a SQLite file of its own, whatever database the suite uses.
"""
import json

from tests.ops.processes import clean_env, run_python


def run_writers(tmp_path, *args) -> dict:
    result = run_python("tests/ops/sqlite_writers.py", *args, env=clean_env(tmp_path), timeout=180)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_twenty_concurrent_writers_all_succeed_with_the_project_settings(tmp_path):
    report = run_writers(tmp_path)
    assert report["engine"] == "sqlite" and report["writers"] == 20
    assert report["journal_mode"] == "wal"
    assert report["busy_timeout_ms"] == 20_000
    assert report["transaction_mode"] == "IMMEDIATE"
    assert report["errors"] == []
    assert report["messages"] == report["expected_messages"]
    assert report["exit_codes"] == [0] * 20


def test_the_same_writers_hit_database_is_locked_without_immediate_transactions(tmp_path):
    report = run_writers(tmp_path, "--transaction-mode", "DEFERRED")
    assert report["transaction_mode"] == "DEFERRED"
    assert report["errors"], "the workload contends: without IMMEDIATE, writers collide"
    assert all("database is locked" in error for error in report["errors"])
    assert report["messages"] == report["expected_messages"] - len(report["errors"])
