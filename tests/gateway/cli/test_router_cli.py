"""`hotline router train` stores a model that dispatch uses when confident; `hotline eval router` prints the figures."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from gateway.cli import main
from tests.gateway.casework.test_router_model import synthetic_rows
from tests.kits.dispatch_kit import case, report, set_clock


def write(tmp_path: Path) -> Path:
    path = tmp_path / "tickets.jsonl"
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in synthetic_rows()), encoding="utf-8")
    return path


def env(config) -> dict[str, str]:
    from tests.conftest import subprocess_env

    return subprocess_env(config)


def test_training_stores_the_model_in_the_data_folder(tmp_path, config):
    result = CliRunner().invoke(main, ["router", "train", "--data", str(write(tmp_path))], env=env(config))
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output.strip().splitlines()[-1])
    assert summary["path"] == str(Path(config["DATA_DIR"]) / "router_model.joblib")
    assert summary["labels"] == ["劳动和社会保障", "城乡建设", "教育文体"]
    assert Path(summary["path"]).is_file()


def test_dispatch_routes_by_a_confident_model_and_records_its_score(app, client, rt, jobs, tmp_path, config):
    CliRunner().invoke(main, ["router", "train", "--data", str(write(tmp_path))], env=env(config))
    set_clock(app, 2026, 4, 27, 10)
    number = report(client, text="洪山区养老保险转移接续办不了")  # no profile keyword matches this text
    jobs()
    c = case(rt, number)
    assert (c.status, c.category, c.routing["departments"]) == ("dispatched", "labour", [{"code": "WH-HRSS", "role": "lead"}])
    [reason] = c.routing["reasons"]
    assert reason["rule"] == "model" and reason["label"] == "劳动和社会保障" and reason["score"] >= 0.6


def test_an_unsure_model_sends_a_case_without_keywords_to_triage(app, client, rt, jobs, tmp_path, config):
    CliRunner().invoke(main, ["router", "train", "--data", str(write(tmp_path))], env=env(config))
    rt.profile.router["threshold"] = 1.01  # no prediction is ever confident enough
    set_clock(app, 2026, 4, 27, 10)
    number = report(client, text="有件事想反映一下")
    jobs()
    c = case(rt, number)
    assert c.status == "triage" and c.routing["triage"]
    assert c.routing["reasons"][0]["rule"] == "model_low_confidence"


def test_evaluation_prints_per_category_f1_and_ends_with_a_json_line(tmp_path, config):
    result = CliRunner().invoke(main, ["eval", "router", "--data", str(write(tmp_path)), "--folds", "3"], env=env(config))
    assert result.exit_code == 0, result.output
    last = json.loads(result.output.strip().splitlines()[-1])
    assert set(last) == {"accuracy", "macro_f1"} and 0 <= last["macro_f1"] <= 1
    assert "教育文体" in result.output


def test_training_on_a_file_with_one_category_fails_with_a_message(tmp_path, config):
    path = tmp_path / "one.jsonl"
    path.write_text(json.dumps({"title": "a", "detail": "b", "category": "城乡建设"}, ensure_ascii=False), encoding="utf-8")
    result = CliRunner().invoke(main, ["router", "train", "--data", str(path)], env=env(config))
    assert result.exit_code != 0 and "two categories" in result.output
