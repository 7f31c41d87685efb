"""`hotline eval appeal`: the appeal-type guess scored on a tiny file of invented posts (tests/fixtures), read the
way the command reads the board's own CSV at run time."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from gateway.cli import main
from gateway.cli.appeal_eval import score

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
POSTS = FIXTURES / "appeal_eval_posts.csv"
LABELS = FIXTURES / "appeal_eval_labels.csv"


@pytest.fixture(autouse=True)
def bundled_profile(monkeypatch):
    monkeypatch.delenv("HOTLINE_PROFILE", raising=False)


def run(*args: str):
    return CliRunner().invoke(main, ["eval", "appeal", *args])


def test_the_invented_posts_are_scored_per_type_with_the_consultation_deadline_and_a_json_last_line():
    result = run("--data", str(POSTS), "--labels", str(LABELS), "--show-wrong")
    assert result.exit_code == 0, result.output
    lines = result.output.strip().splitlines()
    figures = json.loads(lines[-1])
    assert figures["posts"] == 14  # the row labelled for another file is not counted
    assert (figures["guessed"], figures["accuracy"]) == (13, 0.8571)
    assert figures["per_type"]["投诉"] == {"support": 3, "guessed": 3, "precision": 1.0, "recall": 1.0, "f1": 1.0}
    assert figures["consultation"] == {"right": 3, "given_wrongly": 1, "missed": 0}  # 9014 asks when a road is mended
    assert figures["confusion"]["其他"]["—"] == 1  # nothing points anywhere in a walk by the lake: no guess
    assert sum(band["guessed"] for band in figures["by_confidence"].values()) == 13
    assert lines[0] == "wrong: 9013 9014"
    assert any(line.startswith("咨询 (the consultation deadline)") for line in lines)


def test_labels_of_no_row_of_the_data_file_are_refused_naming_the_file(tmp_path):
    other = tmp_path / "board.csv"
    other.write_text(POSTS.read_text(encoding="utf-8"), encoding="utf-8")
    result = run("--data", str(other), "--labels", str(LABELS))
    assert result.exit_code != 0 and "no labels for board.csv" in result.output


def test_a_label_that_is_no_appeal_type_is_refused_with_its_line(tmp_path):
    labels = tmp_path / "labels.csv"
    labels.write_text("source_file,row_id,label\nappeal_eval_posts.csv,9001,谏言\n", encoding="utf-8")
    result = run("--data", str(POSTS), "--labels", str(labels))
    assert result.exit_code != 0 and f"{labels}:2" in result.output


def test_json_lines_with_title_and_detail_are_read_like_the_router_file(tmp_path):
    data = tmp_path / "posts.jsonl"
    data.write_text(json.dumps({"id": 1, "title": "举报某小区传销", "detail": "每天有人聚集开会拉人头。"},
                               ensure_ascii=False) + "\n", encoding="utf-8")
    labels = tmp_path / "labels.csv"
    labels.write_text("source_file,row_id,label\nposts.jsonl,1,举报\n", encoding="utf-8")
    result = run("--data", str(data), "--labels", str(labels))
    assert result.exit_code == 0, result.output
    assert json.loads(result.output.strip().splitlines()[-1])["accuracy"] == 1.0


def test_macro_f1_averages_only_the_types_the_labels_hold():
    figures = score({"a": "咨询", "b": "投诉"}, {"a": "咨询", "b": "—"})
    assert figures["macro_f1"] == 0.5  # 咨询 F1 1.0, 投诉 F1 0.0; 表扬 and the others have no label and no say
    assert (figures["coverage"], figures["accuracy_guessed"]) == (0.5, 1.0)
