"""The learned ticket router, on a small synthetic Chinese set."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gateway.casework.router_model import (
    RouterConfig,
    RouterModel,
    RouterModelError,
    duplicate_groups,
    evaluate,
    normalize,
    ticket_text,
    train,
)

PLACES = ["A3区", "A6区", "K8县", "B2区", "C5县", "E7县"]

TEMPLATES = {
    "城乡建设": [
        "{p}小区门口道路施工围挡占道",
        "{p}安置房项目拖延交房",
        "{p}路灯坏了很久没人修",
        "{p}老旧小区改造工程质量差",
        "{p}违章建筑占用公共绿地",
    ],
    "教育文体": [
        "{p}小学招生划片不合理",
        "{p}幼儿园乱收费问题",
        "{p}中学老师课外有偿补课",
        "{p}学校食堂卫生差学生家长担心",
        "{p}体育馆长期不对外开放",
    ],
    "劳动和社会保障": [
        "{p}工地拖欠农民工工资",
        "{p}公司不给员工缴纳社保",
        "{p}养老保险转移接续办不了",
        "{p}失业金申领流程太复杂",
        "{p}医保报销比例太低",
    ],
}


def synthetic_rows() -> list[dict[str, str | None]]:
    rows: list[dict[str, str | None]] = []
    for category, templates in TEMPLATES.items():
        for i, template in enumerate(templates):
            for j, place in enumerate(PLACES[:4]):
                text = template.format(p=place)
                # Vary where the words are: title only, detail only, or both.
                title, detail = [
                    (text, None),
                    ("", text),
                    (place + "的问题", text + "，请领导重视"),
                ][(i + j) % 3]
                rows.append({"title": title, "detail": detail, "category": category})
    return rows


@pytest.fixture(scope="module")
def model() -> RouterModel:
    return train(synthetic_rows())


@pytest.mark.parametrize(
    ("title", "detail", "category"),
    [
        ("E7县拖欠工资", "工地老板拖欠我们农民工工资三个月", "劳动和社会保障"),
        (None, "C5县这所小学招生不合理，幼儿园也乱收费", "教育文体"),
        ("C5县道路施工", "", "城乡建设"),
        ("", "Ｅ７县的路灯坏了，违章建筑也没人管", "城乡建设"),
    ],
)
def test_an_unseen_ticket_goes_to_its_category(
    model: RouterModel, title: str | None, detail: str | None, category: str
) -> None:
    got, confidence = model.predict(title, detail)
    assert got == category
    assert 0.0 <= confidence <= 1.0


def test_confidence_is_a_probability_even_for_empty_text(model: RouterModel) -> None:
    category, confidence = model.predict(None, None)
    assert category in model.labels
    assert 0.0 <= confidence <= 1.0
    assert isinstance(confidence, float)


def test_a_saved_model_loads_and_predicts_the_same(
    model: RouterModel, tmp_path: Path
) -> None:
    path = tmp_path / "router.joblib"
    model.save(path)
    loaded = RouterModel.load(path)
    pairs = [(r["title"], r["detail"]) for r in synthetic_rows()]
    assert loaded.predict_many(pairs) == model.predict_many(pairs)
    assert loaded.labels == ("劳动和社会保障", "城乡建设", "教育文体")
    assert loaded.config == model.config
    assert loaded.trained_on == 60
    assert "sklearn" in loaded.versions


def test_a_file_of_another_format_is_refused(tmp_path: Path) -> None:
    import joblib

    path = tmp_path / "other.joblib"
    joblib.dump({"format": "something/9"}, path)
    with pytest.raises(RouterModelError, match="not a"):
        RouterModel.load(path)


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        (
            [{"title": "路灯坏了", "detail": "", "category": "城乡建设"}] * 5,
            "two categories",
        ),
        (
            [{"title": "路灯坏了", "detail": "", "category": "城乡建设"}] * 5
            + [{"title": "拖欠工资", "detail": "", "category": "劳动和社会保障"}],
            "per category",
        ),
    ],
)
def test_training_data_too_thin_is_refused(
    rows: list[dict[str, str]], message: str
) -> None:
    with pytest.raises(RouterModelError, match=message):
        train(rows)


def test_rows_without_text_or_label_are_skipped() -> None:
    rows = synthetic_rows() + [
        {"title": None, "detail": None, "category": "城乡建设"},
        {"title": "路灯", "detail": "", "category": None},
    ]
    assert train(rows).trained_on == 60


def test_evaluate_reports_accuracy_macro_f1_and_each_class() -> None:
    result = evaluate(synthetic_rows(), folds=3)
    assert set(result["per_class_f1"]) == set(TEMPLATES)
    assert 0.0 <= result["macro_f1"] <= 1.0
    assert result["accuracy"] > 0.8
    assert len(result["fold_macro_f1"]) == 3
    assert result["n"] == 60


def test_word_features_train_when_jieba_is_installed() -> None:
    pytest.importorskip("jieba")
    model = train(synthetic_rows(), RouterConfig(word_ngrams=(1, 2)))
    assert model.predict("K8县拖欠工资", None)[0] == "劳动和社会保障"


def test_text_is_normalized_before_the_model_reads_it() -> None:
    assert normalize("Ａ３区\u3000路灯_x000D_ 坏了  ") == "A3区 路灯 坏了"
    assert ticket_text("标题", "内容", RouterConfig(title_weight=1)) == "标题。内容"
    assert ticket_text("标题", None) == "标题。标题"
    assert ticket_text(None, " 内容 ") == "内容"
    assert (
        ticket_text("标题", "内容", RouterConfig(title_weight=2)) == "标题。标题。内容"
    )


def test_reposts_share_a_duplicate_group() -> None:
    a = "尊敬的领导：您好！我是K2区潇楚佳苑小区的居民，幼儿园占用绿地。"
    b = "尊敬的领导: 您好! 我是K2区潇楚佳苑小区的居民_x000D_幼儿园占用绿地"
    c = "工地拖欠农民工工资三个月了，请劳动监察部门处理"
    assert duplicate_groups([a, b, c]) == [0, 0, 1]


def test_the_eval_tool_ends_with_a_json_summary(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from tools.eval_router import main

    data = tmp_path / "tickets.jsonl"
    data.write_text(
        "\n".join(json.dumps(r, ensure_ascii=False) for r in synthetic_rows()),
        encoding="utf-8",
    )
    assert main(["--data", str(data), "--folds", "3"]) == 0
    last = capsys.readouterr().out.strip().splitlines()[-1]
    assert set(json.loads(last)) == {"accuracy", "macro_f1"}


def test_a_soft_vote_of_classifiers_trains_saves_and_predicts(tmp_path: Path) -> None:
    config = RouterConfig(models=("svm", "cnb", "logreg"))
    voted = train(synthetic_rows(), config)
    label, confidence = voted.predict("K8县拖欠工资", "工地老板拖欠农民工工资")
    assert label == "劳动和社会保障" and 0.0 <= confidence <= 1.0
    path = tmp_path / "voted.joblib"
    voted.save(path)
    loaded = RouterModel.load(path)
    assert loaded.config == config and loaded.config.models == ("svm", "cnb", "logreg")
    pairs = [(r["title"], r["detail"]) for r in synthetic_rows()]
    assert loaded.predict_many(pairs) == voted.predict_many(pairs)


def test_an_unknown_classifier_is_refused() -> None:
    with pytest.raises(RouterModelError, match="unknown classifier 'forest'"):
        train(synthetic_rows(), RouterConfig(models=("svm", "forest")))
