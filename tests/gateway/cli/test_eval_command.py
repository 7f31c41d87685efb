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
