from __future__ import annotations

import json
from dataclasses import replace
from datetime import datetime, timedelta, timezone

import pytest

from dedupe.decide import ATTACH, NEW, PROPOSE, Candidate, Thresholds, decide, matches
from dedupe.features import MENTION_CHARS, Features, block_keys, case_keys, exact_places, extract, place_keys
from dedupe.place import Gazetteer
from dedupe.text import normalize

T0 = datetime(2024, 5, 6, 9, 0, tzinfo=timezone.utc)
GAZ = Gazetteer.from_profile({"city": "江城市", "districts": [{"name": "江岸区", "streets": ["大智街道"]}]})

SMOKE = "江岸区幸福里小区楼下烧烤店油烟直排,每天营业到凌晨两点,噪音和油烟严重影响居民休息,请环保部门查处"
SMOKE_REWORDED = "幸福里小区底层烧烤店深夜经营,油烟熏得窗户都不敢开,吵得睡不着觉,希望管一管"
SMOKE_OTHER_ESTATE = "江岸区阳光花园楼下烧烤店油烟直排,每天营业到凌晨两点,噪音和油烟严重影响居民休息,请环保部门查处"
POTHOLE = "江岸区解放大道人行道坑洼积水,老人摔倒好几次"


def features(text, hours=0.0, phone=None, category=None, **extra):
    report = {"text": text, "received_at": T0 + timedelta(hours=hours), "phone": phone, "category": category, **extra}
    return extract(report, GAZ)


def candidate(case_id, f, open_=True, shares=False):
    return Candidate(case_id, f, is_open=open_, last_report_at=f.time, shares_contact=shares)


@pytest.mark.parametrize(
    ("name", "new", "cands", "action", "rule", "target"),
    [
        ("verbatim copy by another person within hours", features(SMOKE, 5), [candidate(1, features(SMOKE))], ATTACH, "same_problem", 1),
        ("reworded report of the same estate's smoke", features(SMOKE_REWORDED, 20), [candidate(1, features(SMOKE))], ATTACH, "same_problem", 1),
        ("same person again on another channel, weeks later, case open", features(SMOKE_REWORDED, 24 * 20, phone="13800138000"),
         [candidate(1, features(SMOKE, phone="+86 138 0013 8000"), open_=True)], ATTACH, "same_person", 1),
        ("same person after the case closed, within 30 days", features(SMOKE, 24 * 10), [candidate(1, features(SMOKE), open_=False, shares=True)], ATTACH, "same_person", 1),
        ("same person after the case closed, beyond 30 days", features(SMOKE, 24 * 40), [candidate(1, features(SMOKE), open_=False, shares=True)], NEW, None, None),
        ("same template about another estate", features(SMOKE_OTHER_ESTATE, 1), [candidate(1, features(SMOKE))], NEW, None, None),
        ("same person, other estate: still a veto", features(SMOKE_OTHER_ESTATE, 1, phone="13800138000"),
         [candidate(1, features(SMOKE, phone="13800138000"))], NEW, None, None),
        ("different problem in the same district", features(POTHOLE, 2), [candidate(1, features(SMOKE))], NEW, None, None),
        ("closed case of another person, days later", features(SMOKE, 24 * 5), [candidate(1, features(SMOKE), open_=False)], NEW, None, None),
        ("incompatible categories", features(SMOKE, 2, category="环境保护"), [candidate(1, features(SMOKE, category="城乡建设"))], NEW, None, None),
        ("no candidates", features(SMOKE), [], NEW, None, None),
    ],
    ids=lambda v: v if isinstance(v, str) else "",
)
def test_decide_applies_the_rules(name, new, cands, action, rule, target):
    decision = decide(new, cands)
    assert (decision.action, decision.rule, decision.case_id) == (action, rule, target), decision.reasons


def test_a_middling_score_is_proposed_not_merged():
    new, old = features(SMOKE_REWORDED, 20), features(SMOKE)
    score = decide(new, [candidate(1, old)]).score
    decision = decide(new, [candidate(1, old)], Thresholds(auto=min(1.0, score + 0.05), grey=score - 0.05))
    assert (decision.action, decision.case_id) == (PROPOSE, 1)


def test_the_veto_is_explained_in_the_reasons():
    decision = decide(features(SMOKE_OTHER_ESTATE, 1), [candidate(7, features(SMOKE))])
    features_named = {r["feature"] for r in decision.reasons}
    assert {"nearest_case", "place_mismatch", "veto", "text_similarity"} <= features_named
    json.dumps(decision.to_dict(), ensure_ascii=False)


def test_the_best_candidate_wins_regardless_of_order():
    new = features(SMOKE, 3)
    cands = [candidate(1, features(POTHOLE)), candidate(2, features(SMOKE_REWORDED)), candidate(3, features(SMOKE, 1))]
    assert decide(new, cands).case_id == decide(new, cands[::-1]).case_id == 3


def test_matches_lists_every_case_a_rule_would_take_but_not_other_places_or_other_problems():
    cands = [candidate(1, features(SMOKE)), candidate(2, features(SMOKE_OTHER_ESTATE)), candidate(3, features(POTHOLE)),
             candidate(4, features(SMOKE_REWORDED))]
    assert [m.case_id for m in matches(features(SMOKE, 3), cands)] == [1, 4]


def test_matches_ranks_by_the_evidence_beyond_the_ceiling_of_the_score():
    new = features(SMOKE, 3)
    same_estate = candidate(1, features(SMOKE))
    no_estate_named = candidate(2, features(SMOKE.replace("幸福里小区", ""), 2))  # newer: decide's tie-break prefers it
    found = matches(new, [no_estate_named, same_estate])
    assert [m.score for m in found] == [1.0, 1.0]
    assert [m.case_id for m in found] == [1, 2] and found[0].evidence > found[1].evidence


def test_english_reports_follow_the_same_rules():
    a = features("Street light broken outside 12 Oak Road, dark at night, please fix", 0)
    b = features("The street light on Oak Rd is broken and it is dark at night", 6)
    c = features("The street light on Elm Road is broken and it is dark at night", 6)
    assert decide(b, [candidate("a", a)]).action == ATTACH
    assert decide(c, [candidate("a", a)]).action == NEW


def test_features_round_trip_through_json():
    f = features(SMOKE, phone="13800138000", category="环境保护/油烟", channel="sms")
    again = Features.from_dict(json.loads(json.dumps(f.to_dict(), ensure_ascii=False)))
    assert again == f
    assert f.contacts == ("tel:+8613800138000",)


def test_the_compact_form_keeps_the_shingles_and_older_stored_features_still_read():
    def read(stored):
        return Features.from_dict(json.loads(json.dumps(stored, ensure_ascii=False)))

    f = features("Pothole on Main Street, 江岸区幸福里小区 outside number 12", phone="13800138000")
    compact = f.to_dict(compact=True)
    # One report: the text alone gives the shingles back (without its place names), so only the text is stored.
    assert {"source", "s", "shingles"}.isdisjoint(compact) and compact["text"] == f.text
    assert read(compact).shingles == f.shingles and "幸福里" not in "".join(f.shingles)
    long = features("小区门口的路灯坏了很久，晚上很黑。" * 40 + "江岸区幸福里小区")
    stored = long.to_dict(compact=True)
    assert len(stored["text"]) == 600 < len(long.text) and "source" not in stored
    assert read(stored).shingles == long.shingles
    from dedupe.features import merge_features

    case = merge_features(f, features("路灯不亮 幸福里小区 好几天了"))  # two reports: their sources joined
    assert read(case.to_dict(compact=True)).shingles == case.shingles and "路灯" in case.shingles
    other = replace(f, text="另一段文字")  # a text that does not give the source back: the source is stored
    kept = other.to_dict(compact=True)
    assert kept["source"] == f.source and read(kept).shingles == f.shingles
    outgrown = replace(f, shingles=f.shingles | {"更多"})  # a case whose shingles its source no longer yields
    cut = outgrown.to_dict(compact=True)
    assert "source" not in cut and read(cut).shingles == outgrown.shingles
    assert "outside number" in f.shingles and "outside number" in cut["s"].split("|")  # a Latin bigram keeps its space
    older = {**compact, "sh": "\x1f".join(sorted(f.shingles))}
    assert Features.from_dict(older).shingles == f.shingles
    earlier = {**compact, "text": f.text[:10], "source": f.source}  # the form of the last release: text head + source
    assert Features.from_dict(earlier).shingles == f.shingles


def test_block_keys_are_few_short_and_shared_within_the_window():
    old = features(SMOKE, 0, phone="13800138000", address="大智街道")
    keys = block_keys(old, query=False)
    assert len(keys) <= 24 and sum(len(k.encode()) for k in keys) < 1024
    assert len(block_keys(old)) <= 24 + MENTION_CHARS  # a look-up adds the three-character mentions of its head
    assert any(k.startswith("p:tel:") for k in keys) and any(k.startswith("pl:") for k in keys)
    for hours in (1, 30, 47, 71.9):
        later = replace(features(POTHOLE, hours), place=old.place)
        assert {k for k in block_keys(later) if k.startswith("t:")} & set(keys), hours


def test_a_house_number_has_a_place_key_of_its_own_before_its_road():
    """A road's key holds every case on the road; the house number's holds the few at that door, so the
    operator's hint reads the door's, never the road's (``place_keys(exact=True)``)."""
    f = features("京汉大道209号门口摊贩占道，行人只能走机动车道。", address="江岸区京汉大道209号")
    assert place_keys(f) == ["pl:京汉大道209号", "pl:京汉大道"]
    assert [k for k in block_keys(f, query=False) if k.startswith("pl:")] == place_keys(f)
    assert place_keys(f, exact=True) == ["pl:京汉大道209号"] and exact_places(f) == {"京汉大道209号"}
    estate = features("万科魅力之城小区3栋电梯坏了", address="江岸区解放大道万科魅力之城小区")
    assert place_keys(estate) == ["pl:万科魅力之城小区", "pl:之城小区", "pl:解放大道"]  # the estate before its road
    assert place_keys(estate, exact=True) == ["pl:万科魅力之城小区", "pl:之城小区"]
    assert not place_keys(features("解放大道路灯不亮", address="江岸区解放大道"), exact=True)


def test_case_keys_stay_bounded_as_reports_join():
    keys: list[str] = []
    for i in range(30):
        keys = case_keys(keys, block_keys(features(SMOKE, hours=24 * i, phone=f"1380013{8000 + i % 3}")))
    assert len(keys) <= 24



def test_the_same_person_naming_the_same_estate_in_other_words_is_a_chase():
    first = features("江岸区保利华都小区停水两天,物业无法说明原因", phone="13627130003")
    chase = features("保利华都小区还是没水,什么时候来水?", 4, phone="13627130003")
    stranger = features("保利华都小区还是没水,什么时候来水?", 4, phone="13900000000")
    assert decide(chase, [candidate(1, first)]).rule == "same_person"
    # Another person: the same estate and the same problem in no common words is for the office to judge.
    assert decide(stranger, [candidate(1, first)]).action == PROPOSE


def test_an_operators_ticket_opening_is_not_evidence_of_the_same_matter():
    assert normalize("来电人反映江岸区路灯不亮") == normalize("江岸区路灯不亮")


def test_the_same_person_at_the_same_place_about_another_kind_of_problem_is_a_new_matter():
    light = features("江岸区保利华都小区门口路灯不亮", phone="13627130003", category="street_light")
    water = features("保利华都小区停水三天了", 4, phone="13627130003", category="water")
    assert decide(water, [candidate(1, light)]).action == NEW


TOPICS = {"油烟": "fumes", "烧烤": "fumes", "夜宵": "fumes", "噪音": "noise", "扰民": "noise", "养狗": "dogs", "犬": "dogs"}


def topical(text, hours=0.0, user=None):
    return extract({"text": text, "received_at": T0 + timedelta(hours=hours), "board_user": user}, GAZ, TOPICS)


def test_the_same_estate_and_kind_of_problem_in_other_words_is_one_matter():
    # Different people, weeks apart, while the case is open: the shops under one estate, told as smoke
    # by one and as late-night noise with barbecue smoke by another. Their texts share almost nothing.
    smoke = topical("江岸区幸福里小区一楼的夜宵店灶台油烟随意排放,柴火味熏人", user="u1")
    noise = topical("幸福里小区一楼商铺营业到凌晨,吆喝声吵得睡不着,烧烤的烟往楼上窜", 24 * 20, user="u2")
    decision = decide(noise, [candidate(1, smoke)])
    assert (decision.action, decision.rule, decision.case_id) == (ATTACH, "same_problem", 1), decision.reasons
    assert {"feature": "topic_match", "value": ["fumes"]} in decision.reasons
    text = next(r["value"] for r in decision.reasons if r["feature"] == "text_similarity")
    assert text < Thresholds().min_text  # below the text gate: the place and the kind of problem carried it


def test_the_same_estate_with_another_kind_of_problem_in_other_words_stays_apart():
    smoke = topical("江岸区幸福里小区一楼的夜宵店灶台油烟随意排放,柴火味熏人", user="u1")
    dogs = topical("幸福里小区有人遛狗不牵绳,养狗的业主不清理粪便,夜里吵", 24, user="u2")
    assert decide(dogs, [candidate(1, smoke)]).action == NEW


def test_without_the_profiles_topic_words_the_problem_signature_still_sees_one_matter():
    smoke = extract({"text": "江岸区幸福里小区一楼的夜宵店灶台油烟随意排放,柴火味熏人", "received_at": T0}, GAZ)
    noise = extract({"text": "幸福里小区一楼商铺营业到凌晨,吆喝声吵得睡不着,烧烤的烟往楼上窜",
                     "received_at": T0 + timedelta(days=20)}, GAZ)
    decision = decide(noise, [candidate(1, smoke)])
    assert decision.action == ATTACH and {"feature": "problem", "value": "same",
                                          "signature": ["f:noise", "o:shop"]} in decision.reasons
    dogs = extract({"text": "幸福里小区有人遛狗不牵绳,业主不清理粪便", "received_at": T0 + timedelta(days=1)}, GAZ)
    assert decide(dogs, [candidate(1, smoke)]).action == NEW


def test_topics_survive_storage_and_merge_into_the_case():
    smoke, noise = topical("幸福里小区楼下烧烤油烟"), topical("幸福里小区噪音扰民")
    assert Features.from_dict(json.loads(json.dumps(smoke.to_dict(compact=True)))).topics == {"fumes"}
    from dedupe.features import merge_features

    assert merge_features(smoke, noise).topics == {"fumes", "noise"}
