"""Each benchmark runs end to end at its smallest size and writes its JSON result (figures, no timing thresholds)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench import (
    console,
    dedupe_cpu,
    dedupe_scale,
    dispatch,
    intake,
    knowledge,
    ledger,
    operator_hint,
    search_index,
    supervision,
)
from tests.conftest import PATIENCE


def common_args(redis_url: str, out: Path) -> list[str]:
    return ["--db", "sqlite", "--redis-url", redis_url, "--out", str(out)]


@pytest.mark.parametrize("nodes", [1, 2])
def test_the_intake_benchmark_measures_the_gateway_beside_the_bare_app_and_samples_memory(redis_url, tmp_path, nodes):
    # nodes=2: two web-only gateway nodes of one web process each, beside one worker pool and one scheduler
    out = tmp_path / "intake.json"
    intake.main(
        [
            *common_args(redis_url, out),
            "--nodes",
            str(nodes),
            "--web-processes",
            str(2 // nodes),
            "--cases",
            "200",
            "--duration",
            "1.5",
            "--warmup",
            "0.5",
            "--paced-duration",
            "0",
            "--max-rate",
            "150",
            "--concurrency",
            "4",
            "--workers",
            "1",
            "--drain-timeout",
            str(PATIENCE),  # the drain ends when the queues are empty: a bound for a busy machine, not a window
            "--sample-every",
            "0.3",
        ]
    )
    result = json.loads(out.read_text())
    assert {"benchmark", "command", "machine", "params", "runs"} <= set(result)
    assert {"nproc", "memory_mb", "python", "sqlite", "redis", "load_before"} <= set(result["machine"])
    [run] = result["runs"]
    for server in ("bare", "bare_job", "gateway"):
        assert run[server]["ok"] > 0 and run[server]["per_s"] > 0 and run[server]["p99_ms"] > 0
    assert run["ratio_gateway_to_bare"] > 0
    for server in ("bare_job", "gateway"):  # their jobs ran, and the rate over load and drain is given
        assert run[server]["jobs"]["left"] == 0
        assert 0 < run[server]["jobs"]["sustained_per_s"] <= run[server]["per_s"]
    assert run["stored"]["new_reports"] > 0 and run["preload"]["count"] == 200
    assert run["stored"]["jobs"] > 0 and run["stored"]["jobs_per_report"] > 0
    assert run["memory"]["web_max_mb"] > 0 and run["memory"]["queue_worker_max_mb"] > 0
    assert run["nodes"] == nodes and run["web_processes"] == 2 // nodes
    assert run["memory"]["web_processes"] == 2  # both cores serve: two processes of one node, or one on each node
    assert run["gateway"]["ports"] == nodes if nodes > 1 else run["gateway"]["loadgen"] in ("wrk", "python")
    assert run["gateway"]["jobs"]["left"] == 0
    # CPU per report (per request of the baselines): the web processes', and the workers' where jobs ran
    for server in ("bare", "bare_job", "gateway"):
        assert run[server]["cpu"]["units"] > 0 and run[server]["cpu"]["web_ms_per_unit"] > 0
    for server in ("bare_job", "gateway"):
        assert run[server]["cpu"]["worker_cpu_s"] > 0
    assert run["ratio_sustained_to_bare_job"] > 0


def test_the_dispatch_benchmark_runs_the_real_job_and_the_empty_job_on_both_worker_classes(redis_url, tmp_path):
    out = tmp_path / "dispatch.json"
    dispatch.main(
        [*common_args(redis_url, out), "--jobs", "20", "--noop-jobs", "20", "--fork-jobs", "5", "--pools", "1",
         "--in-process", "10", "--profile"]
    )
    result = json.loads(out.read_text())
    [db] = result["runs"]
    assert [(r["job"], r["worker"]) for r in db["runs"]] == [
        ("dispatch_case", "worker.GatewayWorker"),
        ("noop", "worker.GatewayWorker"),
        ("noop", "rq.Worker (forks per job)"),
    ]
    for run in db["runs"]:
        assert run["done"] == run["jobs"] and run["per_s"] > 0 and run["exit_code"] == 0
        # the pool's CPU per job, its start-up (the same pool over an empty queue) taken off on the gateway's pool
        per_job = (run["cpu_s"] - run["startup_cpu_s"]) * 1000 / run["done"]
        assert run["cpu_s"] > 0 and abs(run["cpu_ms_per_job"] - per_job) < 1
        assert (run["startup_cpu_s"] > 0) == (run["worker"] == "worker.GatewayWorker")
    assert isinstance(db["runs"][0]["cpu_ms_per_case_over_noop"], float)  # the real job's CPU over the empty job's
    assert db["assignments_created"] >= 20 + 10 + 50  # the pool's, and the in-process calls' (after 50 to warm up)
    assert db["in_process"]["cases"] == 10 and db["in_process"]["cpu_ms_per_case"] > 0 and db["in_process"]["profiled"]


def test_the_supervision_benchmark_times_the_sweep_over_open_assignments(redis_url, tmp_path):
    out = tmp_path / "supervision.json"
    supervision.main([*common_args(redis_url, out), "--assignments", "300", "--repeat", "2"])
    [run] = json.loads(out.read_text())["runs"]
    assert run["preload"]["assignments"]["count"] == 300
    first, settled = run["first"], run["settled"]
    # Every open assignment due within the horizon is checked in one sweep, and the first one takes steps.
    assert 0 < first["checked"] < 300 and first["steps"] > 0 and first["seconds"] > 0
    # The later sweeps (same moment) find nothing left to do; the escalated ones are no longer checked.
    [again, third] = settled["outcomes"]
    assert again == third and again["steps"] == 0 and 0 < again["checked"] <= first["checked"]
    assert settled["median_ms"] > 0 and run["plan"]


def test_the_ledger_benchmark_exports_both_formats_at_both_sizes_and_measures_their_memory(redis_url, tmp_path):
    out = tmp_path / "ledger.json"
    ledger.main([*common_args(redis_url, out), "--rows", "120"])
    [run] = json.loads(out.read_text())["runs"]
    assert [size["rows"] for size in run["sizes"]] == [12, 120]
    for size in run["sizes"]:
        assert size["preload"]["cases"]["count"] == size["rows"] and size["preload"]["followups"] > 0
        for fmt in ("csv", "xlsx"):
            m = size[fmt]
            assert m["status"] == 200 and m["bytes"] > 0
            assert 0 < m["rss_before_mb"] <= m["rss_peak_mb"] and m["heap_peak_mb"] > 0


def test_the_dedupe_benchmark_builds_a_database_and_times_the_index_beside_brute_force(redis_url, tmp_path):
    out = tmp_path / "dedupe.json"
    dedupe_scale.main([*common_args(redis_url, out), "--quick", "--cases", "3000", "--path", str(tmp_path),
                       "--queries", "60", "--brute", "5", "--pool", "500", "--processes", "1"])
    [run] = json.loads(out.read_text())["runs"]
    [size] = run["sizes"]
    assert size["cases"] == 3000 and size["index_rows"] > 3000 and size["index_bytes_per_case"] > 0
    assert sum(size["actions"].values()) == 60 and size["decision_ms"]["p99"] > 0
    assert size["brute_force"]["runs"] == 5 and size["candidates"]["max"] <= 60


def test_the_dedupe_cpu_benchmark_times_each_phase_in_rounds_and_digests_the_decisions(tmp_path):
    out = tmp_path / "cpu.json"
    args = ["--cases", "1500", "--pool", "300", "--reports", "30", "--rounds", "2", "--processes", "1",
            "--file", str(tmp_path / "cpu.db"), "--out", str(out)]
    first = dedupe_cpu.main(args)
    again = dedupe_cpu.main(args[:-2])  # the file exists: measured again, not rebuilt
    assert len(first["rounds"]) == 2 and first["min"]["decide"] > 0 and first["min"]["all"] >= first["min"]["query"]
    assert first["decisions"] == again["decisions"] and json.loads(out.read_text())["cases"] == 1500


def test_the_operator_hint_benchmark_times_both_engines_on_the_same_queries_and_compares_what_they_list(
        redis_url, tmp_path):
    out = tmp_path / "hint.json"
    operator_hint.main([*common_args(redis_url, out), "--cases", "300", "--queries", "30", "--warmup", "2"])
    [run] = json.loads(out.read_text())["runs"]
    assert run["preload"]["count"] == 300 and run["preload"]["dedupe_index"]["cases"] == 300
    assert run["old"]["calls"] == run["new"]["calls"] == 30 and run["old"]["median_ms"] > 0 and run["new"]["p95_ms"] > 0
    found = run["findings"]
    assert found["old_similar"] > 0 and 0 <= found["old_similar_also_new"] <= found["old_similar"]
    assert found["old_caller_also_new"] <= found["old_caller"]
    # Every similar case the old engine listed and the new one does not is accounted for, with dedupe's reason.
    assert sum(run["old_similar_left_out"].values()) == found["old_similar"] - found["old_similar_also_new"]


def test_the_knowledge_benchmark_builds_the_index_and_times_the_search_and_the_adds(redis_url, tmp_path):
    out = tmp_path / "knowledge.json"
    knowledge.main([*common_args(redis_url, out), "--answers", "400", "--queries", "30", "--adds", "3",
                    "--path", str(tmp_path)])
    [run] = json.loads(out.read_text())["runs"]
    assert run["answers"] == 400 and run["index_rows"] > 400 and run["index_bytes_per_answer"] > 0
    assert run["queries"] == 30 and run["search_ms"]["p95"] > 0 and run["search_cpu_ms"]["p50"] > 0
    assert run["adds"] == 3 and run["put_ms"]["max"] > 0 and 0 < run["asked_answer_shown"] <= 1


def test_the_console_benchmark_builds_its_database_once_and_times_every_page_over_http(redis_url, tmp_path,
                                                                                       monkeypatch):
    monkeypatch.setenv("HOTLINE_BENCH_CACHE", str(tmp_path / "cache"))
    runs = []
    for name in ("first", "second"):  # the second run takes the database from the cache
        out = tmp_path / f"console-{name}.json"
        console.main([*common_args(redis_url, out), "--quick", "--requests", "3", "--warmup", "1", "--merges", "5"])
        [run] = json.loads(out.read_text())["runs"]
        runs.append(run)
    first, second = runs
    assert first["database_build"]["build"]["seconds"] > 0 and second["database_build"]["build"] == "cached"
    assert [p.name for p in (tmp_path / "cache").iterdir()] == [Path(first["database_build"]["cache"]).name]
    for run in runs:
        assert run["cases"] == run["rows"]["case"] == run["rows"]["casefeatures"] == run["rows"]["assignment"] == 2000
        assert 2000 < run["rows"]["report"] <= 5 * 2000 + 20 and 0 < run["rows"]["mergerecord"] <= 5
        assert list(run["pages"]) == list(console.PAGES)
        for page in run["pages"].values():
            assert page["requests"] == 3 and page["statuses"] == [200] and page["errors"] == 0
            assert 0 < page["p50_ms"] <= page["p95_ms"] <= page["max_ms"] and page["first_ms"] > 0
        assert run["uptime_before"] and run["uptime_after"]


def test_the_search_index_benchmark_inserts_the_same_cases_with_and_without_the_index(tmp_path):
    out = tmp_path / "search.json"
    search_index.main(["--quick", "--out", str(out)])
    result = json.loads(out.read_text())
    assert result["cases"] == 300 and len(result["rounds"]) == 1
    [r] = result["rounds"]
    assert r["without_ms"] > 0 and r["with_index_ms"] > 0 and result["median_added_ms"] == round(
        r["with_index_ms"] - r["without_ms"], 3)


def test_hotline_bench_runs_the_named_benchmark_script_and_refuses_unknown_names():
    from click.testing import CliRunner

    from gateway.cli import main

    runner = CliRunner()
    assert runner.invoke(main, ["bench", "supervision", "--help"]).exit_code == 0
    refused = runner.invoke(main, ["bench", "nope"])
    assert refused.exit_code == 2 and "nope" in refused.output


def test_the_bulk_dedupe_fill_stores_what_intakes_indexer_stores(app, rt):
    from sqlmodel import Session, select

    from bench import preload
    from bench.corpus import Corpus
    from gateway.models import Case, CaseFeatures, DedupeKey, Report

    loaded = preload.cases(rt.engine, Corpus(seed=3), 40)
    first, last = loaded["first_case_id"], loaded["last_case_id"]
    filled = preload.dedupe_index(app, first, last)
    assert filled["cases"] == 40 and filled["distinct_texts"] <= 40

    def stored() -> tuple[dict, set]:
        with Session(rt.engine) as session:
            features = {f.case_id: (f.features, list(f.keys)) for f in session.exec(select(CaseFeatures))}
            keys = {(k.key, k.case_id) for k in session.exec(select(DedupeKey))}
        return features, keys

    bulk = stored()
    with Session(rt.engine) as session:  # the same cases through intake's own indexer, one by one
        for row in session.exec(select(DedupeKey)).all() + session.exec(select(CaseFeatures)).all():
            session.delete(row)
        session.commit()
        for report in session.exec(select(Report).where(Report.case_id.between(first, last))).all():
            rt.dedupe_index(session, rt, session.get(Case, report.case_id), report)
        session.commit()
    assert stored() == bulk and len(bulk[1]) > 40
