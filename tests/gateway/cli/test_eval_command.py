"""`hotline eval dedupe`: a labelled JSONL file through the real intake path, scored."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from gateway.cli import main
from gateway.cli.evaluation import EvalDataError, read_items
from tests.conftest import logged_in


@pytest.fixture
def client(app: Any) -> Any:
    """Coordinating-office staff: merges and case reads need a signed-in office user."""
    return logged_in(app, "office")


FIXTURE = Path(__file__).resolve().parents[2] / "fixtures" / "dedupe_eval.jsonl"


@pytest.fixture
def env(config, monkeypatch):
    monkeypatch.setenv("REDIS_URL", config["REDIS_URL"])
    monkeypatch.setenv("HOTLINE_DATA_DIR", config["DATA_DIR"])
    monkeypatch.delenv("DATABASE_URL", raising=False)
    return config


def run(*args: str):
    return CliRunner().invoke(main, ["eval", "dedupe", *args], catch_exceptions=False)


def test_the_labelled_cross_channel_set_scores_with_no_hard_negative_merged(env):
    result = run("--data", str(FIXTURE))
    assert result.exit_code == 0, result.output
    figures = json.loads(result.output.strip().splitlines()[-1])
    assert figures["reports"] == sum(1 for line in FIXTURE.read_text().splitlines() if line.strip())
    assert figures["pairwise"]["precision"] == 1.0  # no template about another estate, no other matter joined
    assert figures["pairwise"]["recall"] >= 0.7
    assert figures["bcubed"]["recall"] >= 0.85


def test_nothing_joins_when_the_automatic_threshold_is_out_of_reach(env):
    figures = json.loads(run("--data", str(FIXTURE), "--auto", "1.0", "--grey", "1.0").output.strip().splitlines()[-1])
    assert figures["pairwise"]["recall"] < 0.5  # only verbatim-perfect scores of 1.0 may still join


def test_a_broken_line_is_reported_with_its_number(env, tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "a", "text": "路灯不亮", "time": "2026-05-01T10:00:00"}\n{"id": "b", "time": "yesterday"}\n')
    result = CliRunner().invoke(main, ["eval", "dedupe", "--data", str(bad)])
    assert result.exit_code != 0 and "line 2" in result.output


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("not json", "not JSON"),
        ('{"text": "x"}', "needs an object with an id"),
        ('{"id": "1", "text": "x", "channel": "fax"}', "unknown channel"),
        ('{"id": "1", "text": ""}', "needs a text or a title"),
        ('{"id": "1", "text": "x", "time": "2026-13-45"}', "not a date/time"),
    ],
)
def test_bad_lines_name_what_is_wrong(line, message):
    with pytest.raises(EvalDataError, match=message):
        read_items([line])


def test_items_are_replayed_in_time_order_and_an_empty_group_is_its_own():
    items = read_items([
        '{"id": "late", "group": "g", "text": "b", "time": "2026-05-02T10:00:00"}',
        '{"id": "early", "group": "", "text": "a", "time": "2026-05-01T10:00:00", "channel": "call"}',
    ])
    assert [(i.id, i.group, i.inbound.channel) for i in items] == [("early", "own:early", "hotline"), ("late", "g", "web")]


SMALL = [  # a hand-made file: what must join and what must not does not depend on the matcher's fine tuning
    {"id": "a1", "group": "light", "kind": "original", "time": "2026-05-04T20:10:00+08:00", "channel": "sms",
     "phone": "13807110001", "text": "江岸区中山大道888号门口的路灯连续三晚不亮，晚上过马路很危险"},
    {"id": "a2", "group": "light", "kind": "follow_up", "time": "2026-05-04T20:40:00+08:00", "channel": "sms",
     "phone": "13807110001", "text": "江岸区中山大道888号门口的路灯连续三晚不亮，晚上过马路很危险"},
    # labelled a hard negative of another matter, yet the very same words from the same phone: it is joined
    {"id": "n1", "group": "other", "kind": "hard_negative_wording", "time": "2026-05-04T21:00:00+08:00",
     "channel": "sms", "phone": "13807110001", "text": "江岸区中山大道888号门口的路灯连续三晚不亮，晚上过马路很危险"},
    # another person, district, place and problem: alone
    {"id": "n2", "group": "wages", "kind": "hard_negative_place", "time": "2026-05-06T09:00:00+08:00",
     "channel": "email", "email": "worker@example.com", "title": "欠薪",
     "text": "东西湖区走马岭恒通达物流有限公司拖欠我们分拣员三个月工资，请劳动监察部门帮忙"},
    {"id": "u1", "group": "", "kind": "unrelated", "time": "2026-05-07T10:00:00+08:00", "channel": "board",
     "user": "reader", "text": "建议武汉图书馆周末延长开放时间到晚上八点"},
]


def test_assignments_name_each_input_with_its_case_rule_and_score_and_hard_negatives_are_counted(env, tmp_path):
    data, out = tmp_path / "small.jsonl", tmp_path / "assignments.jsonl"
    data.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in SMALL), encoding="utf-8")
    result = run("--data", str(data), "--assignments", str(out))
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    by_id = {line["id"]: line for line in lines}
    assert sorted(by_id) == sorted(r["id"] for r in SMALL) and len(lines) == len(SMALL)
    assert by_id["a2"]["case"] == by_id["a1"]["case"] == by_id["n1"]["case"]
    assert by_id["a2"]["rule"] == "same_person" and by_id["a2"]["score"] > 0 and by_id["a2"]["action"] == "attach"
    assert by_id["a1"]["rule"] == "new" and by_id["a1"]["link"] == "new"
    assert len({by_id[i]["case"] for i in ("a1", "n2", "u1")}) == 3
    assert all(line["case"].startswith("WH") for line in lines)
    assert (by_id["n1"]["joined_other"], by_id["n2"]["joined_other"], by_id["u1"]["joined_other"]) == (True, False, False)

    figures = json.loads(result.output.strip().splitlines()[-1])
    assert "assignments" not in figures  # the per-line answers go to the file, not the summary
    assert figures["hard_negatives"] == {"reports": 2, "joined": 1, "proposed": 0, "joined_ids": ["n1"]}
    assert figures["kinds"]["follow_up"] == {"reports": 1, "with_own_matter": 1, "joined_other": 1, "proposed": 0,
                                             "alone": 0}
    assert figures["kinds"]["unrelated"]["alone"] == 1
    assert set(figures["bcubed"]) == {"precision", "recall", "f1"} and figures["bcubed"]["precision"] < 1.0
    assert "hard negatives joined to another matter: 1 of 2" in result.output


def test_a_line_without_a_kind_counts_under_none_and_a_kind_must_be_a_word():
    assert read_items(['{"id": "1", "text": "路灯不亮"}'])[0].kind == ""
    assert read_items(['{"id": "1", "text": "路灯不亮", "kind": " duplicate "}'])[0].kind == "duplicate"
    with pytest.raises(EvalDataError, match="kind"):
        read_items(['{"id": "1", "text": "路灯不亮", "kind": 3}'])


DEV = FIXTURE.with_name("dedupe_dev.jsonl")


def test_the_development_set_reads_and_keeps_its_promises():
    items = read_items(DEV.read_text(encoding="utf-8").splitlines())
    kinds = {i.kind for i in items}
    assert {"original", "duplicate", "follow_up", "unrelated", "hard_negative_place", "hard_negative_wording"} <= kinds
    assert len(items) >= 400
    assert sum(1 for i in items if i.kind == "original") >= 100  # matters with more than one version
    assert {i.inbound.channel for i in items} >= {"board", "sms", "hotline", "email"}
    assert all(i.kind for i in items)
    rows = [json.loads(line) for line in DEV.read_text(encoding="utf-8").splitlines()]
    groups = {r["group"] for r in rows}
    for row in rows:  # a hard negative is its own matter, close to a matter of the set
        if row["kind"].startswith("hard_negative"):
            assert row["near"] in groups and row["near"] != row["group"], row["id"]
    matters = {r["group"] for r in rows if r["kind"] in ("original", "duplicate", "follow_up")}
    assert not matters & {r["group"] for r in rows if r["kind"].startswith("hard_negative") or r["kind"] == "unrelated"}


def test_the_development_set_is_what_its_hand_written_sources_build():
    import subprocess
    import sys

    tool = Path(__file__).resolve().parents[3] / "tools" / "dedupe_devset.py"
    done = subprocess.run([sys.executable, str(tool), "--check"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
