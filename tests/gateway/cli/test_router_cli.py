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


def train_to(tmp_path: Path, config, rows) -> Path:
    """Train a real model on ``rows`` with `hotline router train --out` and return its file."""
    data = tmp_path / "train.jsonl"
    data.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows), encoding="utf-8")
    out = tmp_path / "models" / "router.joblib"
    result = CliRunner().invoke(main, ["router", "train", "--data", str(data), "--out", str(out)], env=env(config))
    assert result.exit_code == 0, result.output
    assert json.loads(result.output.strip().splitlines()[-1])["path"] == str(out)
    return out


LABELLED = [
    {"title": "G9县拖欠工资", "detail": "工地老板拖欠我们农民工工资半年了", "category": "劳动和社会保障"},
    {"title": None, "detail": "G9县公司不给员工缴纳社保，养老保险断了", "category": "劳动和社会保障"},
    {"title": "G9县小学招生", "detail": "小学招生划片不合理，孩子上学远", "category": "教育文体"},
    {"title": "", "detail": "G9县幼儿园乱收费，老师有偿补课", "category": "教育文体"},
    {"title": "G9县路灯坏了", "detail": "小区门口路灯坏了，违章建筑也没人管", "category": "城乡建设"},
    # labelled 教育文体, but in 城乡建设's words: the one miss
    {"title": "", "detail": "G9县安置房项目拖延交房，老旧小区改造工程质量差", "category": "教育文体"},
]


def test_a_trained_model_is_scored_on_a_labelled_file(tmp_path, config):
    model = train_to(tmp_path, config, synthetic_rows())
    data = tmp_path / "labelled.jsonl"
    data.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in LABELLED) + "\n\n", encoding="utf-8")
    result = CliRunner().invoke(main, ["eval", "router", "--model", str(model), "--data", str(data)], env=env(config))
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output.strip().splitlines()[-1])
    labels = ["劳动和社会保障", "城乡建设", "教育文体"]
    assert summary["n"] == 6 and summary["confusion"]["labels"] == labels
    matrix = summary["confusion"]["matrix"]
    assert [sum(row) for row in matrix] == [2, 1, 3]  # rows are the true categories
    assert matrix[2][1] == 1 and summary["accuracy"] == round(5 / 6, 4)  # the miss
    per = summary["per_category"]
    assert per["城乡建设"] == {"precision": 0.5, "recall": 1.0, "f1": round(2 / 3, 4), "support": 1}
    assert per["教育文体"]["recall"] == round(2 / 3, 4) and per["教育文体"]["precision"] == 1.0
    assert summary["macro_f1"] == round((1.0 + 2 / 3 + 0.8) / 3, 4)
    assert summary["threshold"] == 0.6  # the bundled profile's [router] threshold
    assert 0 <= summary["triage_rate"] <= 1
    assert "confusion" in result.output and "triage at threshold 0.6" in result.output


def test_the_triage_rate_follows_the_threshold(tmp_path, config):
    model = train_to(tmp_path, config, synthetic_rows())
    data = tmp_path / "labelled.jsonl"
    data.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in LABELLED), encoding="utf-8")

    def at(threshold: str) -> dict:
        args = ["eval", "router", "--model", str(model), "--data", str(data), "--threshold", threshold]
        result = CliRunner().invoke(main, args, env=env(config))
        assert result.exit_code == 0, result.output
        return json.loads(result.output.strip().splitlines()[-1])

    everything, nothing = at("0"), at("1.01")
    assert (everything["triage_rate"], everything["accuracy_not_triaged"]) == (0.0, everything["accuracy"])
    assert (nothing["triage_rate"], nothing["accuracy_not_triaged"]) == (1.0, None)


def bad(tmp_path: Path, config, args: list[str]) -> str:
    result = CliRunner().invoke(main, ["eval", "router", *args], env=env(config))
    assert result.exit_code != 0 and isinstance(result.exception, SystemExit), result.output
    assert "Traceback" not in result.output
    return result.output


def test_bad_input_gets_a_message_naming_what_is_wrong(tmp_path, config):
    model = train_to(tmp_path, config, synthetic_rows())
    good = json.dumps(LABELLED[0], ensure_ascii=False)
    cases = {
        "broken.jsonl": (good + "\n{\"title\": \"x\", \n", "broken.jsonl:2: not JSON"),
        "list.jsonl": (good + "\n[1, 2]\n", "list.jsonl:2: not a JSON object"),
        "unknown.jsonl": (good + "\n" + json.dumps({"title": "路灯", "detail": "坏了", "category": "国防外交"},
                                                   ensure_ascii=False), "unknown.jsonl:2: unknown category '国防外交'"),
        "nolabel.jsonl": (json.dumps({"title": "路灯", "detail": "坏了"}, ensure_ascii=False), "nolabel.jsonl:1: no category"),
        "notext.jsonl": (json.dumps({"title": None, "detail": " ", "category": "城乡建设"}, ensure_ascii=False),
                         "notext.jsonl:1: no title or detail"),
        "empty.jsonl": ("\n\n", "empty.jsonl: no tickets"),
        "number.jsonl": (json.dumps({"title": 12, "detail": "坏了", "category": "城乡建设"}, ensure_ascii=False),
                         "number.jsonl:1: title is not text"),
    }
    for name, (content, message) in cases.items():
        path = tmp_path / name
        path.write_text(content, encoding="utf-8")
        assert message in bad(tmp_path, config, ["--model", str(model), "--data", str(path)]), name
    (tmp_path / "latin1.jsonl").write_bytes("{\"title\": \"é\"}".encode("latin-1"))
    assert "not UTF-8" in bad(tmp_path, config, ["--model", str(model), "--data", str(tmp_path / "latin1.jsonl")])
    data = tmp_path / "broken.jsonl"
    assert "does not exist" in bad(tmp_path, config, ["--model", str(tmp_path / "none.joblib"), "--data", str(data)])
    assert "does not exist" in bad(tmp_path, config, ["--model", str(model), "--data", str(tmp_path / "none.jsonl")])
    fake = tmp_path / "fake.joblib"
    fake.write_text("not a model", encoding="utf-8")
    assert "is not a model file" in bad(tmp_path, config, ["--model", str(fake), "--data", str(data)])


def test_the_split_command_writes_both_parts_and_checks_its_record(tmp_path, config):
    rows = [dict(r, id=str(i)) for i, r in enumerate(synthetic_rows())]
    data = tmp_path / "tickets.jsonl"
    data.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows), encoding="utf-8")
    held, rest, record = tmp_path / "held.jsonl", tmp_path / "rest.jsonl", tmp_path / "record.txt"
    args = ["router", "split", "--data", str(data), "--holdout", str(held), "--rest", str(rest), "--record", str(record)]
    result = CliRunner().invoke(main, args, env=env(config))
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output.strip().splitlines()[-1])
    held_rows = [json.loads(x) for x in held.read_text(encoding="utf-8").splitlines()]
    rest_rows = [json.loads(x) for x in rest.read_text(encoding="utf-8").splitlines()]
    assert summary["holdout"] == len(held_rows) > 0 and summary["rest"] == len(rest_rows)
    assert sorted(r["id"] for r in held_rows + rest_rows) == sorted(r["id"] for r in rows)
    check = CliRunner().invoke(main, ["router", "split", "--data", str(data), "--check", str(record)], env=env(config))
    assert check.exit_code == 0 and json.loads(check.output)["matches_record"] is True
    record.write_text("\n".join(record.read_text(encoding="utf-8").splitlines()[:-1]), encoding="utf-8")
    check = CliRunner().invoke(main, ["router", "split", "--data", str(data), "--check", str(record)], env=env(config))
    assert check.exit_code != 0 and "differs" in check.output
