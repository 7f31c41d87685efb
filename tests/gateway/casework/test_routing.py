"""Routing (派单): territory first, then duty; the addressed unit is a suggestion; a confident model routes."""

from __future__ import annotations

import pytest

from gateway.casework.routing import route
from gateway.config import BUNDLED_PROFILE
from gateway.profile import load_profile

PROFILE = load_profile(BUNDLED_PROFILE)


@pytest.mark.parametrize(("text", "address", "category", "departments"), [
    ("江岸区中山大道路灯不亮", None, "street_light", [("WH-LIGHT", "lead")]),
    ("小区门口垃圾堆积没人清运", "武昌区积玉桥街道", "city_appearance", [("WH-CHENGGUAN", "lead"), ("D-WUCHANG", "assist")]),
    ("物业乱收费", "洪山区关山街道", "housing", [("WH-HOUSING", "lead"), ("D-HONGSHAN", "assist")]),
    ("有件事想反映一下", "汉阳区四新街道", "other", [("D-HANYANG", "lead")]),
])
def test_the_rules_pick_duty_departments_and_the_district_government_of_the_place(text, address, category, departments):
    decision = route(PROFILE, text, address=address)
    assert decision.category == category
    assert decision.departments == departments
    assert not decision.triage


def test_a_place_without_a_known_district_and_no_duty_owner_goes_to_the_office_triage():
    decision = route(PROFILE, "有件事想反映一下")
    assert decision.triage and decision.departments == [("WH-OFFICE", "lead")]
    assert {r["rule"] for r in decision.reasons} >= {"no_district", "triage"}


def test_an_addressed_unit_compatible_with_the_category_leads_and_is_recorded():
    decision = route(PROFILE, "小区垃圾站异味大", address="江汉区常青花园", addressed_unit="江汉区人民政府")
    assert decision.departments[0] == ("D-JIANGHAN", "lead")
    assert ("WH-CHENGGUAN", "assist") in decision.departments
    note = next(r for r in decision.reasons if r["rule"] == "addressed_unit")
    assert note["used"] and note["known"]


def test_an_addressed_unit_that_does_not_handle_the_category_is_only_a_recorded_suggestion():
    decision = route(PROFILE, "江岸区路灯不亮", addressed_unit="武汉市教育局")
    assert decision.departments == [("WH-LIGHT", "lead")]
    note = next(r for r in decision.reasons if r["rule"] == "addressed_unit")
    assert note == {"rule": "addressed_unit", "value": "武汉市教育局", "known": True, "used": False}


def test_an_addressed_unit_decides_when_nothing_else_does():
    decision = route(PROFILE, "有件事想反映一下", addressed_unit="武汉市教育局")
    assert decision.departments == [("WH-EDU", "lead")] and not decision.triage


def test_an_unknown_addressed_unit_changes_nothing():
    decision = route(PROFILE, "江岸区路灯不亮", addressed_unit="某某办公室")
    assert decision.departments == [("WH-LIGHT", "lead")]
    assert next(r for r in decision.reasons if r["rule"] == "addressed_unit")["known"] is False


def test_a_confident_model_label_maps_to_a_profile_category_through_the_board_category():
    decision = route(PROFILE, "孩子上学的事情", address="洪山区", prediction=("教育文体", 0.91))
    assert decision.category == "education" and decision.departments == [("WH-EDU", "lead")]
    assert decision.reasons[0]["rule"] == "model" and decision.reasons[0]["score"] == 0.91


def test_keywords_choose_among_the_categories_of_a_confident_model_label():
    decision = route(PROFILE, "楼道电梯坏了", address="江岸区", prediction=("城乡建设", 0.8))
    assert decision.category == "housing"  # 城乡建设 narrows; 电梯 picks housing, not the default planning


def test_an_unsure_model_without_a_keyword_sends_the_case_to_triage():
    decision = route(PROFILE, "有件事想反映一下", address="汉阳区", prediction=("商贸旅游", 0.31))
    assert decision.triage
    assert decision.reasons[0] == {"rule": "model_low_confidence", "label": "商贸旅游", "score": 0.31, "threshold": 0.6}


def test_an_unsure_model_gives_way_to_a_keyword_rule():
    decision = route(PROFILE, "江岸区路灯不亮", prediction=("商贸旅游", 0.2))
    assert decision.category == "street_light" and not decision.triage


def test_a_reporters_category_hint_wins_over_the_model():
    decision = route(PROFILE, "孩子上学", category_hint="劳动社保", prediction=("教育文体", 0.99))
    assert decision.category == "labour"
