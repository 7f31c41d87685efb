"""Issue 18's wrong merges, table by table: another problem at the same place, the same wording about another
named place, a district and a topic word; and what must still join (a short follow-up, a firm written short)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from dedupe.decide import ATTACH, NEW, PROPOSE, Candidate, another_matter, decide
from dedupe.features import block_keys, extract
from dedupe.place import COMPANY, PROJECT, ROUTE, Gazetteer, extract_place, firm_core
from dedupe.problem import CONFLICT, SAME, UNKNOWN, relation, signature
from dedupe.text import normalize

T0 = datetime(2026, 5, 6, 9, 0, tzinfo=timezone.utc)
GAZ = Gazetteer.from_profile({"city": "武汉市", "districts": [
    {"name": "洪山区"}, {"name": "东湖高新区"}, {"name": "江岸区"}, {"name": "东西湖区"}]})


def f(text, hours=0.0, phone=None, user=None):
    return extract({"text": text, "received_at": T0 + timedelta(hours=hours), "phone": phone, "board_user": user}, GAZ)


def case(case_id, features):
    return Candidate(case_id, features, is_open=True, last_report_at=features.time)


def sig(text):
    return signature(normalize(text))


@pytest.mark.parametrize(("a", "b", "expected"), [
    ("金域华府小区地下车库顶板渗水", "金域华府12栋楼顶公共露台被住户搭了彩钢棚", CONFLICT),
    ("402路公交总站凌晨发车噪音扰民", "402路总站对面疑似传销窝点", CONFLICT),
    ("关山大道公交站台被撞坏一直没修", "关山大道旁边有人焚烧垃圾", CONFLICT),
    ("南湖名都小区路灯坏了一个月", "南湖名都小区停气一天了", CONFLICT),
    ("雄楚大道关山口路灯不亮", "雄楚大道关山口公交站旁边井盖缺失", CONFLICT),
    # one object, other faults: neither one matter nor a veto (no automatic attachment for other people)
    ("保利时光印象项目工地夜间施工噪音", "保利时光印象项目工地渣土撒漏扬尘", UNKNOWN),
    ("魅力之城小区临街门面油烟直排", "魅力之城小区一楼商铺营业到凌晨, 噪音扰民", SAME),
    ("中山大道888号路灯不亮", "中山大道888号那几盏路灯坏了", SAME),
    ("常青花园18栋有人群租", "18栋隔断房住了十几个人, 噪音大", SAME),
    ("恒通达物流拖欠三个月工资", "恒通达那边还是没人给说法", UNKNOWN),
], ids=lambda v: v if isinstance(v, str) and len(v) < 10 else "")
def test_problem_signatures_relate(a, b, expected):
    assert relation(sig(a), sig(b)) == expected, (sig(a), sig(b))


def test_a_word_that_says_where_is_not_what_the_report_is_about():
    assert "bus_stop" not in sig("雄楚大道关山口公交站旁边井盖缺失").objects
    assert sig("关山大道公交站台被撞坏").objects >= {"bus_stop"}


@pytest.mark.parametrize(("text", "kind", "core"), [
    ("武汉恒通达物流有限公司拖欠工资", COMPANY, "恒通达"),
    ("恒通达物流还欠我们三个月工资", COMPANY, "恒通达"),
    ("光谷大道保利时光印象项目工地每晚施工", PROJECT, "保利时光印象"),
    ("520路今天又甩站", ROUTE, "520路"),
    ("地铁2号线早高峰太挤", ROUTE, "地铁2号线"),
], ids=lambda v: v if isinstance(v, str) and len(v) < 8 else "")
def test_named_entities_of_a_kind(text, kind, core):
    tokens = [t for t in extract_place(text).tokens if t.kind == kind]
    assert tokens and tokens[0].core == core, extract_place(text)


@pytest.mark.parametrize("text", ["硚口区汉正街一家服装厂拖欠工资", "学校要我们去电子厂实习", "请公交集团整改",
                                  "系里要求去指定的不同公司实习", "昨晚工地还是干到两点"])
def test_a_phrase_about_firms_names_no_firm(text):
    assert not [t for t in extract_place(text).tokens if t.kind in (COMPANY, PROJECT)], extract_place(text)
    assert firm_core("一家服装厂") == ""


@pytest.mark.parametrize(("first", "second"), [
    ("东西湖区武汉恒通达物流有限公司拖欠我们三个月工资", "东西湖区武汉顺达捷物流有限公司拖欠我们两个月工资"),
    ("光谷大道保利时光印象项目工地每天晚上施工到凌晨", "光谷大道金地格林东郡项目工地每天晚上施工到凌晨"),
    ("520路公交车早高峰在常青路站经常不进站", "703路公交车早高峰在中南医院站经常不进站"),
])
def test_the_same_wording_about_another_firm_project_or_route_is_vetoed(first, second):
    decision = decide(f(second, 2, user="b"), [case(1, f(first, user="a"))])
    assert decision.action == NEW and {"feature": "veto", "value": "different_place"} in decision.reasons


def test_another_building_of_one_estate_is_at_most_proposed():
    first = f("常青花园八区18栋有人违规群租, 一套房隔成十几间", user="a")
    other = f("常青花园三区7栋有人违规群租, 一套房隔成十几间", 3, user="b")
    decision = decide(other, [case(1, first)])
    assert decision.action != ATTACH and {"feature": "no_auto", "value": "different_building_or_number"} in decision.reasons


def test_a_district_and_a_topic_word_never_attach():
    estate = f("洪山区华侨城小区底商烧烤油烟直排, 熏得家里全是烤肉味", user="a")
    road = f("洪山区珞狮南路一家餐馆油烟很大, 排烟管对着人行道", 1, user="b")
    decision = decide(road, [case(1, estate)])
    assert decision.action in (NEW, PROPOSE) and decision.action != ATTACH


def test_another_problem_at_the_same_estate_is_a_new_case_even_for_the_same_person():
    leak = f("东湖高新区金域华府小区地下车库顶板一直在渗水", phone="13800000001")
    roof = f("金域华府12栋楼顶公共露台被住户搭了彩钢棚, 别的住户上不去", 5, phone="13800000001")
    decision = decide(roof, [case(1, leak)])
    assert decision.action == NEW and {"feature": "veto", "value": "different_problem"} in decision.reasons
    assert another_matter(roof, leak) and not another_matter(f("金域华府车库今天又在滴水", 6), leak)


def test_the_same_person_the_same_firm_a_short_text_attaches():
    wages = f("东西湖区武汉恒通达物流有限公司拖欠我们三个月工资, 请劳动监察部门帮忙", phone="13800000002")
    chase = f("昨天打过电话, 恒通达那边今天还是没人给说法", 20, phone="13800000002")
    decision = decide(chase, [case(1, wages)])
    assert (decision.action, decision.rule) == (ATTACH, "same_person"), decision.reasons


def test_a_place_written_short_meets_its_case_through_a_mention_key():
    full = f("洪山区南湖名都小区自昨天下午起停气, 燃气公司未通知", user="a")
    short = f("南湖名都没气了 一天了 什么时候能来气", 3, phone="13800000003")
    assert set(block_keys(short)) & set(block_keys(full, query=False)) - {k for k in block_keys(full) if k.startswith("p:")}
