"""The history store, `bansweep history` and `bansweep triage`: the same tests on SQLite and on a real PostgreSQL
(a throwaway cluster started for the session, see store_fixtures)."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import textwrap
from datetime import date
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from bansweep.cli import main
from bansweep.findings import Location, Status
from bansweep.store import data_home, data_path, open_store, store_url
from bansweep.store.cli import COMMANDS
from bansweep.store.decisions import apply_decisions, evidence_hash, load_file, triaged_out
from bansweep.store.html import report_section
from bansweep.store.interface import Decision, StoreError
from bansweep.store.recorder import expand, record
from bansweep.store.sql import engine_url
from store_fixtures import cluster, device_report

SRC = str(Path(__file__).resolve().parents[1] / "src")


@pytest.fixture(scope="session")
def pg():
    yield from cluster()


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request, tmp_path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'store' / 'history.sqlite'}"
    server, why_not = request.getfixturevalue("pg")  # the cluster starts with the first PostgreSQL test
    if why_not:
        pytest.skip(f"PostgreSQL cluster did not start: {why_not}")
    return server.new_database()


@pytest.fixture
def inventory(tmp_path) -> Path:
    path = tmp_path / "inventory.csv"
    path.write_text("MAC Address,Manufacturer\n44:19:b6:00:00:01,Example\n")
    return path


def cli(*args: str) -> click.testing.Result:
    @click.group()
    def main() -> None:
        pass

    for command in COMMANDS:
        main.add_command(command)
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


# --- recording ----------------------------------------------------------------------------------------------------


def test_a_run_is_recorded_with_its_inputs_options_versions_and_every_finding(url, inventory):
    report = device_report(3, [str(inventory)])
    run_id = record(report, {"policies": ["us-889"], "as_of": None, "map": Path("x")}, url)
    store = open_store(url)
    run = store.run(run_id)
    assert (run.job, run.subjects, run.findings) == ("fleet", 30, 3)
    assert run.options == {"policies": ["us-889"], "as_of": None, "map": "x"}
    assert run.data_versions == {"ieee-oui": "2026-11-30"}
    assert run.tool_version and run.counts["covered"] == 3
    [item] = run.inputs
    body = inventory.read_bytes()
    assert (item.path, item.kind, item.size) == (str(inventory), "file", len(body))
    assert item.sha256 == hashlib.sha256(body).hexdigest()
    stored = store.findings(run_id)
    assert sorted(f.key for f in stored) == sorted(f.key for f in report.findings)
    first = next(f for f in stored if f.subject == report.findings[0].subject.id)
    assert expand(first.body)["evidence"][0] == {"rule": "fleet.oui", "value": report.findings[0].evidence[0].value}
    assert first.evidence == evidence_hash(report.findings[0])
    store.close()


def test_a_directory_input_is_hashed_over_its_files(url, tmp_path):
    tree = tmp_path / "tree"
    (tree / "sub").mkdir(parents=True)
    (tree / "a.txt").write_text("one")
    (tree / "sub" / "b.txt").write_text("two")
    run_a = record(device_report(1, [str(tree)]), {}, url)
    (tree / "sub" / "b.txt").write_text("tw0")
    run_b = record(device_report(1, [str(tree)]), {}, url)
    store = open_store(url)
    a, b = store.run(run_a).inputs[0], store.run(run_b).inputs[0]
    assert (a.kind, a.size) == ("dir", 6)
    assert a.sha256 != b.sha256 and a.size == b.size
    store.close()


def test_migrated_schema_matches_the_tables_the_code_uses(url):
    from alembic.autogenerate import compare_metadata
    from alembic.config import Config
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    from bansweep.store.sql import HEAD, MIGRATIONS, VERSION_TABLE, metadata

    store = open_store(url)
    with store.engine.connect() as conn:  # type: ignore[attr-defined]
        context = MigrationContext.configure(conn, opts={"version_table": VERSION_TABLE})
        assert compare_metadata(context, metadata) == []
        assert context.get_current_revision() == HEAD
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    assert ScriptDirectory.from_config(config).get_current_head() == HEAD  # sql.HEAD names the newest migration
    store.close()
    open_store(url).close()  # opening an up-to-date store again changes nothing


def test_store_urls():
    pg = engine_url("postgresql://alice@/bansweep?host=/run/pg&port=5433")
    assert (pg.drivername, pg.host, pg.port, pg.database, pg.username) == (
        "postgresql+psycopg",
        "/run/pg",
        5433,
        "bansweep",
        "alice",
    )
    assert engine_url("postgresql://alice:pw@db.example/b").drivername == "postgresql+psycopg"
    assert engine_url("sqlite:////tmp/x.sqlite").database == "/tmp/x.sqlite"
    for bad in ("mysql://u@h/db", "nonsense", "postgresql://u@/db?port=abc", "sqlite+pysqlcipher:///x"):
        with pytest.raises(StoreError):
            engine_url(bad)


def test_default_store_is_sqlite_in_the_data_home_and_env_overrides(monkeypatch, tmp_path):
    monkeypatch.setenv("BANSWEEP_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("BANSWEEP_STORE", raising=False)
    assert data_home() == tmp_path / "home"
    assert data_path("x", "y").parent.is_dir()
    assert store_url() == f"sqlite:///{tmp_path / 'home' / 'history.sqlite'}"
    monkeypatch.setenv("BANSWEEP_STORE", "sqlite:////elsewhere.sqlite")
    assert store_url() == "sqlite:////elsewhere.sqlite"
    assert store_url("postgresql://u@/db") == "postgresql://u@/db"
    record(device_report(1, []), {}, f"sqlite:///{tmp_path / 'home' / 'history.sqlite'}")
    assert (tmp_path / "home" / "history.sqlite").stat().st_mode & 0o077 == 0  # owner only


def test_unreachable_postgresql_is_a_clear_error(tmp_path):
    with pytest.raises(StoreError, match="cannot open the store"):
        open_store(f"postgresql://nobody@/nothing?host={tmp_path}")


# --- history ------------------------------------------------------------------------------------------------------


def _three_runs(url: str, inventory: Path) -> tuple[int, int, int]:
    first = record(device_report(5, [str(inventory)]), {}, url)
    other = record(device_report(2, [str(inventory)], job="parties"), {}, url)  # another job in between
    second_report = device_report(5, [str(inventory)], start=2, overrides={3: Status.REVIEW})
    second_report.findings[2].evidence[0].value = "changed value"  # device 4: same key, other evidence
    second = record(second_report, {}, url)
    return first, other, second


def test_many_resolved_findings_are_counted_and_the_first_in_key_order_listed(url, inventory):
    from bansweep.store.recorder import MAX_LISTED

    first = device_report(MAX_LISTED + 60, [str(inventory)])
    record(first, {}, url)
    gone = sorted(f.key for f in first.findings[10:])
    second = device_report(10, [str(inventory)])
    second.findings[3].evidence[0].value = "changed value"
    record(second, {}, url)
    history = second.summary["history"]
    assert (history["new"], history["resolved"], history["changed"], history["unchanged"]) == (0, MAX_LISTED + 50, 1, 9)
    assert [f["key"] for f in history["resolved_findings"]] == gone[:MAX_LISTED]
    marks = [f.extra.get("since_last_run", {}).get("change") for f in second.findings]
    assert marks == [None, None, None, "changed", *[None] * 6]
    assert second.findings[3].extra["since_last_run"]["evidence_changed"] is True


def test_diff_new_resolved_changed_and_unchanged(url, inventory):
    first, _other, second = _three_runs(url, inventory)
    result = cli("history", "diff", "--store", url, "--format", "json")
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    assert (out["a"]["id"], out["b"]["id"]) == (first, second)  # the parties run is not "the run before"
    keys = {name: [f["key"] for f in out[name]] for name in ("new", "resolved", "changed")}
    by_device = {f.subject.id[-2:]: f.key for f in device_report(7, [str(inventory)]).findings}
    assert sorted(keys["new"]) == sorted([by_device["05"], by_device["06"]])
    assert sorted(keys["resolved"]) == sorted([by_device["00"], by_device["01"]])
    assert sorted(keys["changed"]) == sorted([by_device["03"], by_device["04"]])
    changed = {f["key"]: f for f in out["changed"]}
    assert changed[by_device["03"]]["before"]["status"] == "covered"
    assert changed[by_device["03"]]["status"] == "review"
    assert out["unchanged"] == 1  # device 2
    table = cli("history", "diff", str(first), str(second), "--store", url).output
    assert "2 new, 2 resolved, 2 changed, 1 unchanged" in table
    assert "status covered" in table and "other evidence" in table
    rows = cli("history", "diff", str(first), str(second), "--store", url, "--format", "csv").output.splitlines()
    assert rows[0].startswith("section,key,") and len(rows) == 1 + 6


def test_recording_notes_changes_since_the_last_run_in_the_report(url, inventory):
    record(device_report(3, [str(inventory)]), {}, url)
    report = device_report(3, [str(inventory)], start=1, overrides={1: Status.REVIEW})
    run_id = record(report, {}, url)
    history = report.summary["history"]
    assert (history["run"], history["new"], history["resolved"], history["changed"], history["unchanged"]) == (
        run_id,
        1,
        1,
        1,
        1,
    )
    assert history["resolved_findings"][0]["label"] == "Camera at 10.0.0.0"
    marks = {f.subject.id[-2:]: f.extra.get("since_last_run", {}).get("change") for f in report.findings}
    assert marks == {"01": "changed", "02": None, "03": "new"}
    assert [p["covered"] for p in history["trend"]] == [3, 2] and [p["review"] for p in history["trend"]] == [0, 1]
    html = report_section(report)
    assert "Changed since the last run" in html and "changed (was covered)" in html
    assert "Camera at 10.0.0.0" in html and html.count("<rect") == 4


def test_list_show_trend_and_prune(url, inventory):
    first, other, second = _three_runs(url, inventory)
    listed = json.loads(cli("history", "list", "--store", url, "--format", "json").output)["runs"]
    assert [r["id"] for r in listed] == [second, other, first]
    shown = json.loads(cli("history", "show", str(first), "--store", url, "--format", "json").output)
    assert shown["inputs"][0]["sha256"] and len(shown["findings"]) == 5
    assert all(f["key"].startswith("k1-") for f in shown["findings"])
    assert "Inputs (1)" in cli("history", "show", "last", "--store", url).output
    trend = json.loads(cli("history", "trend", "--store", url, "--job", "fleet", "--format", "json").output)
    assert [(p["run"], p["covered"], p["review"]) for p in trend["runs"]] == [(first, 5, 0), (second, 4, 1)]
    html = cli("history", "trend", "--store", url, "--job", "fleet", "--format", "html").output
    assert "<svg" in html and html.count("<rect") == 4 and "Content-Security-Policy" in html
    missing = cli("history", "show", "999", "--store", url)
    assert missing.exit_code == 3 and "no run 999" in missing.output
    pruned = cli("history", "prune", "--keep", "1", "--store", url)
    assert pruned.exit_code == 0 and f"pruned 1 run(s): {first}" in pruned.output
    store = open_store(url)
    assert [r.id for r in store.runs()] == [second, other]
    assert store.findings(first) == []
    with store.engine.connect() as conn:  # type: ignore[attr-defined]
        from sqlalchemy import func, select

        from bansweep.store.sql import bodies, run_inputs

        for table in (bodies, run_inputs):
            assert conn.execute(select(func.count()).select_from(table).where(table.c.run_id == first)).scalar() == 0
    store.close()


def test_diff_without_an_earlier_run_says_so(url, inventory):
    record(device_report(1, [str(inventory)]), {}, url)
    result = cli("history", "diff", "--store", url)
    assert result.exit_code == 2 and "only fleet run" in result.output


# --- triage -------------------------------------------------------------------------------------------------------


def test_triage_applies_by_key_on_later_runs_and_is_raised_again_when_evidence_changes(url, inventory):
    report = device_report(3, [str(inventory)], overrides={2: Status.REVIEW})
    record(report, {}, url)
    fp, risk, review = (f.key for f in report.findings)
    assert (
        cli(
            "triage", fp, "--false-positive", "--by", "j.doe", "--why", "printer, not a camera", "--store", url
        ).exit_code
        == 0
    )
    args = ["--accepted-risk", "--until", "2999-01-31", "--by", "a.b", "--why", "replacing in Q1", "--store", url]
    assert cli("triage", risk, review, *args).exit_code == 0

    later = device_report(3, [str(inventory)], overrides={2: Status.REVIEW})
    later.findings[1].evidence[0].location = Location("other.csv", row=99)  # moved: still the same evidence
    record(later, {}, url)
    f0, f1, f2 = later.findings
    assert "triage:false-positive" in f0.tags and triaged_out(f0)
    assert f0.extra["triage"]["by"] == "j.doe" and "printer, not a camera" in f0.explanation
    assert triaged_out(f1) and f1.extra["triage"]["until"] == "2999-01-31"
    assert triaged_out(f2)  # a review finding triaged: `--fail-on review` can pass
    stored = {f.key: f.triage for f in open_store(url).findings(2)}
    assert stored[fp] == "false-positive"

    changed = device_report(3, [str(inventory)], overrides={2: Status.REVIEW})
    changed.findings[0].evidence[0].value = "44:19:b6:00:00:00 (Another Co.)"
    changed.findings[1].status = Status.LIMITED  # a new judgement on the same evidence
    record(changed, {}, url)
    assert not triaged_out(changed.findings[0]) and "triage:evidence-changed" in changed.findings[0].tags
    assert "Raised again" in changed.findings[0].explanation
    assert not triaged_out(changed.findings[1])
    assert triaged_out(changed.findings[2])


def test_triage_expires(url, inventory):
    report = device_report(1, [str(inventory)])
    record(report, {}, url)
    key = report.findings[0].key
    cli("triage", key, "--accepted-risk", "--until", "2999-06-30", "--by", "x", "--why", "y", "--store", url)
    store = open_store(url)
    later = device_report(1, [str(inventory)])
    assert apply_decisions(later, store, today=date(2999, 6, 30)) == 1 and triaged_out(later.findings[0])
    expired = device_report(1, [str(inventory)])
    assert apply_decisions(expired, store, today=date(2999, 7, 1)) == 0
    assert "triage:expired" in expired.findings[0].tags and not triaged_out(expired.findings[0])
    assert "expired on 2999-06-30" in expired.findings[0].explanation
    store.close()


def test_triage_refuses_unknown_keys_and_bad_options(url, inventory):
    report = device_report(1, [str(inventory)])
    record(report, {}, url)
    key = report.findings[0].key
    unknown = cli(
        "triage", key, "k1-000000000000000000000000", "--confirmed", "--by", "x", "--why", "y", "--store", url
    )
    assert unknown.exit_code == 2 and "k1-000000000000000000000000" in unknown.output
    assert open_store(url).decisions() == []  # all or nothing
    two = cli("triage", key, "--confirmed", "--false-positive", "--by", "x", "--why", "y", "--store", url)
    assert two.exit_code == 2 and "exactly one" in two.output
    past = cli("triage", key, "--accepted-risk", "--until", "2001-01-01", "--by", "x", "--why", "y", "--store", url)
    assert past.exit_code == 2 and "already past" in past.output
    confirmed = cli("triage", key, "--confirmed", "--by", "x", "--why", "seen on site", "--store", url)
    assert confirmed.exit_code == 0
    later = device_report(1, [str(inventory)])
    record(later, {}, url)
    assert "triage:confirmed" in later.findings[0].tags and not triaged_out(later.findings[0])


def test_decisions_export_and_import_as_a_baseline(url, inventory, tmp_path):
    report = device_report(2, [str(inventory)])
    record(report, {}, url)
    k0, k1 = (f.key for f in report.findings)
    cli("triage", k0, "--false-positive", "--by", "j.doe", "--why", "not ours", "--store", url)
    cli("triage", k1, "--accepted-risk", "--until", "2999-01-01", "--by", "j.doe", "--why", "later", "--store", url)
    cli("triage", k1, "--confirmed", "--by", "boss", "--why", "no exception", "--store", url)  # supersedes
    baseline = tmp_path / "baseline.yaml"
    assert cli("triage", "export", str(baseline), "--store", url).exit_code == 0
    loaded, errors = load_file(baseline)
    assert errors == [] and {(d.key, d.decision) for d in loaded} == {(k0, "false-positive"), (k1, "confirmed")}

    fresh = f"sqlite:///{tmp_path / 'ci.sqlite'}"
    imported = cli("triage", "import", str(baseline), "--store", fresh)
    assert imported.exit_code == 0 and "imported 2 decision(s)" in imported.output
    again = cli("triage", "import", str(baseline), "--store", fresh)
    assert "imported 0 decision(s)" in again.output and "2 already in the store" in again.output
    ci_run = device_report(2, [str(inventory)])
    record(ci_run, {}, fresh)
    assert triaged_out(ci_run.findings[0]) and not triaged_out(ci_run.findings[1])
    listed = json.loads(cli("triage", "list", "--all", "--format", "json", "--store", url).output)["decisions"]
    assert [d["decision"] for d in listed] == ["false-positive", "accepted-risk", "confirmed"]

    bad = tmp_path / "bad.json"
    entry = {**loaded[0].to_dict(), "decision": "maybe"}
    bad.write_text(json.dumps({"decisions": [loaded[0].to_dict(), entry, "text"]}))
    result = cli("triage", "import", str(bad), "--store", fresh)
    assert result.exit_code == 4
    assert "decisions[1]" in result.output and "maybe" in result.output and "decisions[2]" in result.output
    broken = tmp_path / "broken.yaml"
    broken.write_text("decisions: [\n")
    assert cli("triage", "import", str(broken), "--store", fresh).exit_code == 4


def test_evidence_hash_follows_values_and_rules_not_places():
    a, b = device_report(1, []).findings[0], device_report(1, []).findings[0]
    b.evidence[0].location = Location("elsewhere.csv", row=7)
    b.evidence[0].data_date = "2030-01-01"
    assert evidence_hash(a) == evidence_hash(b)
    b.evidence[0].value += " (other maker)"
    assert evidence_hash(a) != evidence_hash(b)


def test_decisions_can_come_from_a_file_without_a_store():
    report = device_report(1, [])
    finding = report.findings[0]
    made = Decision(finding.key, "false-positive", "x", "y", "2026-01-01T00:00:00+00:00", evidence_hash(finding))
    assert apply_decisions(report, [made]) == 1 and triaged_out(finding)


# --- transactions and concurrency ---------------------------------------------------------------------------------

SLOW_ROWS = """
import sys, time
sys.path.insert(0, sys.argv[3])
from store_fixtures import device_report
from bansweep.store import sql


class Slow(list):
    \"\"\"Rows the store reads slowly (the write takes seconds) and that say when it is half-way.\"\"\"

    def __iter__(self):
        for n, row in enumerate(list.__iter__(self)):
            if n == len(self) // 4:
                print("mid-write", flush=True)
            if n % 2000 == 0:
                time.sleep(0.05)
            yield row


write = sql.SqlStore.record
sql.SqlStore.record = lambda self, run, rows: write(self, run, Slow(rows))
"""

CHILD = SLOW_ROWS + textwrap.dedent(
    """
    from bansweep.store.recorder import record
    record(device_report(int(sys.argv[2]), ["big.csv"]), {}, sys.argv[1])
    print("done", flush=True)
    """
)


def test_a_run_killed_half_way_leaves_the_history_as_it_was(url, tmp_path):
    earlier = record(device_report(3, []), {}, url)
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, url, "200000", str(Path(__file__).parent)],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": SRC},
    )
    assert child.stdout is not None
    assert child.stdout.readline().strip() == "mid-write"
    child.send_signal(signal.SIGKILL)
    child.wait(timeout=60)
    store = open_store(url)
    assert [r.id for r in store.runs()] == [earlier]
    with store.engine.connect() as conn:  # type: ignore[attr-defined]
        from sqlalchemy import func, select

        from bansweep.store.sql import findings

        assert conn.execute(select(func.count()).select_from(findings)).scalar_one() == 3
    store.close()
    later = record(device_report(2, []), {}, url)  # and the store takes new runs
    assert later > earlier


WRITER = SLOW_ROWS + textwrap.dedent(
    """
    from bansweep.store.recorder import record
    report = device_report(int(sys.argv[2]), ["inventory-" + sys.argv[4]])
    start = time.time()
    run_id = record(report, {}, sys.argv[1])
    print(run_id, start, time.time(), flush=True)
    """
)


def test_two_runs_at_once_both_succeed(url):
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, url, "30000", str(Path(__file__).parent), str(n)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "PYTHONPATH": SRC},
        )
        for n in range(2)
    ]
    outs = [p.communicate(timeout=300) for p in procs]
    outs = [(o[0].replace("mid-write\n", ""), o[1]) for o in outs]
    assert [p.returncode for p in procs] == [0, 0], [o[1][-800:] for o in outs]
    (id_a, start_a, end_a), (id_b, start_b, end_b) = (o[0].split() for o in outs)
    assert float(start_a) < float(end_b) and float(start_b) < float(end_a)  # the two runs overlapped
    ids = sorted([int(id_a), int(id_b)])
    store = open_store(url)
    assert sorted(r.id for r in store.runs()) == ids
    assert all(len(store.findings(i)) == 30000 for i in ids)
    store.close()


def test_monthly_exports_of_the_same_inventory_share_a_scope(url, tmp_path):
    from bansweep.store.recorder import scope

    assert scope([str(tmp_path / "inventory-2026-11.csv")]) == scope([str(tmp_path / "inventory-2026-12.csv")])
    assert scope([str(tmp_path / "inventory-2026-11.csv")]) != scope([str(tmp_path / "assets-2026-11.csv")])
    assert scope([str(tmp_path / "a" / "x.csv")]) != scope([str(tmp_path / "b" / "x.csv")])
    november = tmp_path / "inventory-2026-11.csv"
    november.write_text("a")
    december = tmp_path / "inventory-2026-12.csv"
    december.write_text("b")
    first = record(device_report(2, [str(november)]), {}, url)
    report = device_report(1, [str(december)])
    record(report, {}, url)
    assert report.summary["history"]["previous"] == first and report.summary["history"]["resolved"] == 1


def test_a_baseline_file_given_to_a_run_is_added_to_the_store_and_applied(url, inventory, tmp_path):
    report = device_report(2, [str(inventory)])
    k0 = report.findings[0].key
    made = Decision(k0, "accepted-risk", "ci", "known", "2026-01-01T00:00:00+00:00", evidence_hash(report.findings[0]))
    baseline = tmp_path / "baseline.json"
    baseline.write_text(json.dumps({"decisions": [made.to_dict(), {"key": "k1-x", "decision": "maybe"}]}))
    record(report, {}, url, baseline)
    assert triaged_out(report.findings[0]) and not triaged_out(report.findings[1])
    [error] = report.errors
    assert error.location.entry == "decisions[1]" and str(baseline) in str(error)
    assert [d.key for d in open_store(url).decisions()] == [k0]
    missing = device_report(1, [str(inventory)])
    record(missing, {}, url, tmp_path / "nope.yaml")
    assert "nope.yaml" in str(missing.errors[0])


def test_hostile_text_is_stored_and_shown_escaped(url):
    report = device_report(1, ["caf\udce9.csv"])
    finding = report.findings[0]
    finding.subject.label = "cam\x00era \u202eevil \udcff"
    finding.title = "=HYPERLINK(1)"
    finding.evidence[0].value = "bad \udcff name"
    run_id = record(report, {}, url)
    [stored] = open_store(url).findings(run_id)
    assert stored.label == "cam\\x00era \u202eevil \\udcff"
    shown = cli("history", "show", str(run_id), "--store", url).output
    assert "\\u202e" in shown and "\u202e" not in shown
    rows = cli("history", "show", str(run_id), "--store", url, "--format", "csv").output
    assert "'=HYPERLINK(1)" in rows
    html = cli("history", "show", str(run_id), "--store", url, "--format", "html").output
    assert "\u202e" not in html and "<script" not in html
    shown = json.loads(cli("history", "show", str(run_id), "--store", url, "--format", "json").output)
    assert shown["findings"][0]["evidence"][0]["value"] == "bad \udcff name"


def test_the_store_url_is_shown_as_given_with_the_password_masked(tmp_path):
    with pytest.raises(StoreError) as caught:
        open_store(f"postgresql://alice:s3cret@/db?host={tmp_path}")
    assert "s3cret" not in str(caught.value) and f"postgresql://alice:***@/db?host={tmp_path}" in str(caught.value)


def test_show_prints_one_finding_in_full_from_a_report_and_from_the_store(tmp_path: Path) -> None:
    examples = Path(__file__).parent.parent / "examples"
    report = tmp_path / "r.json"
    url = f"sqlite:///{tmp_path / 'h.db'}"
    args = ["fleet", "--format", "json", "-o", str(report), "--store", url, str(examples / "cmdb-export.csv")]
    assert CliRunner().invoke(main, args).exit_code == 1
    findings = json.loads(report.read_text())["findings"]
    target = findings[0]
    by_prefix = CliRunner().invoke(main, ["show", "--report", str(report), target["key"][:12]])
    assert by_prefix.exit_code == 0, by_prefix.output
    assert target["title"] in by_prefix.output and target["key"] in by_prefix.output
    for ev in target["evidence"]:
        assert f"cmdb-export.csv row {ev['location']['row']}" in by_prefix.output
    stored = CliRunner().invoke(main, ["show", "--store", url, "--json", target["key"]])
    assert stored.exit_code == 0, stored.output
    got = json.loads(stored.output)
    assert got["key"] == target["key"] and got["status"] == target["status"] and got["run"] >= 1
    missing = CliRunner().invoke(main, ["show", "--report", str(report), "k1-nothing-like-it"])
    assert missing.exit_code == 2 and "no finding with key" in missing.output
