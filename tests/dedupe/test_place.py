from __future__ import annotations

import pytest

from dedupe.place import Gazetteer, compare_places, extract_place

PROFILE = {
    "city": "江城市",
    "districts": [
        {"name": "江岸区", "aliases": ["江岸"], "streets": ["大智街道", "一元街道", "积玉桥街道"], "landmarks": ["江滩公园"]},
        {"name": "汉阳区", "streets": ["鹦鹉街道"]},
    ],
    "landmarks": ["金地太阳城"],
}


@pytest.fixture(scope="module")
def gazetteer():
    return Gazetteer.from_profile(PROFILE)


@pytest.mark.parametrize(
    ("text", "district", "street", "names"),
    [
        ("江岸区大智街道中山大道188号路灯不亮", "江岸区", "大智街道", ["中山大道", "中山大道188号"]),
        ("江岸幸福里小区3栋楼下垃圾", "江岸区", None, ["幸福里小区", "3栋"]),
        ("金地太阳城门口占道经营", None, None, ["金地太阳城"]),
        ("鹦鹉街道红星学校门口拥堵", "汉阳区", "鹦鹉街道", ["红星学校"]),
        ("本小区路灯不亮,我们小区没人管", None, None, []),
        ("汉阳区龙湖江与城小区旁边工地夜间施工", "汉阳区", None, ["龙湖江与城小区"]),
        ("江岸区楚河汉街公寓一楼的饭店油烟", "江岸区", None, ["楚河汉街公寓"]),
        ("积玉桥万达公馆楼下油烟", "江岸区", "积玉桥街道", ["万达公馆"]),
        ("江岸区和平大道路面坑洼", "江岸区", None, ["和平大道"]),
        ("我住在幸福里小区", None, None, ["幸福里小区"]),
        ("江岸区中山大道路灯不亮,行人过马路很不安全", "江岸区", None, ["中山大道"]),
    ],
)
def test_extract_place_finds_district_street_and_fine_places(gazetteer, text, district, street, names):
    place = gazetteer.extract_place(text)
    assert (place.district, place.street) == (district, street)
    assert [t.name for t in place.tokens] == names


@pytest.mark.parametrize(
    ("text", "city", "district", "first"),
    [
        ("A3区魅力之城小区油烟扰民", None, "A3区", "魅力之城小区"),
        ("A市A7县星光花园停水", "A市", "A7县", "星光花园"),
        ("A市红星经济学院强制实习", "A市", None, "红星经济学院"),
    ],
)
def test_anonymized_districts_are_recognized_without_a_gazetteer(text, city, district, first):
    place = extract_place(text)
    assert (place.city, place.district, place.tokens[0].name) == (city, district, first)


def test_district_hint_and_address_take_precedence(gazetteer):
    place = gazetteer.extract_place("路灯坏了", address="汉阳区鹦鹉街道", district_hint="江岸")
    assert (place.district, place.street) == ("江岸区", "鹦鹉街道")


def test_english_street_names_are_places():
    place = extract_place("Pothole outside 123 Main St near Lincoln Park")
    assert [t.name for t in place.tokens] == ["main street", "lincoln park"]


@pytest.mark.parametrize(
    ("a", "b", "relation"),
    [
        ("A5区幸福里小区油烟扰民", "万科幸福里小区楼下烧烤", "match"),
        ("红星经济学院强制实习", "江城红星经济学院组织学生打工", "match"),
        ("经济学院学生被强制实习", "财政经济学院学生被强制实习", "match"),  # a short form: partial (small weight, no veto)
        ("涉外经济学院学生被强制实习", "财政经济学院学生被强制实习", "mismatch"),
        ("A5区幸福里小区油烟扰民", "A5区阳光花园油烟扰民", "mismatch"),
        ("解放大道路灯不亮", "中山大道路灯不亮", "mismatch"),
        ("A5区油烟扰民", "A2区油烟扰民", "unknown"),
        ("幸福里小区油烟扰民", "楼下烧烤店油烟太大", "unknown"),
        ("阳光花园小区的噪音,不像幸福里小区那样安静", "幸福里小区噪音", "mismatch"),
    ],
)
def test_compare_places(a, b, relation):
    pa, pb = extract_place(a), extract_place(b)
    assert compare_places(pa, pb, a, b).relation == relation


def test_a_short_form_matches_fully_when_the_other_side_also_names_the_long_form():
    short = extract_place("经济学院强制学生实习")
    case = extract_place("经济学院组织学生打工。涉外经济学院寒假组织学生去工厂")  # a case told both ways
    new = extract_place("涉外经济学院组织学生外出打工")
    assert compare_places(new, short).partial
    whole = compare_places(new, case)
    assert (whole.relation, whole.partial) == ("match", False)


def test_different_districts_veto_even_without_named_places():
    assert compare_places(extract_place("A5区油烟扰民"), extract_place("A2区油烟扰民")).veto


def test_place_round_trips_through_a_dict():
    from dedupe.place import Place

    place = extract_place("A3区魅力之城小区5栋")
    assert Place.from_dict(place.to_dict()) == place
