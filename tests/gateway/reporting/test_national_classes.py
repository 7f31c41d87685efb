"""GB/T 39666-2020 major classes: the data, the profile's check, and the case JSON and twice-daily report that carry them."""

from __future__ import annotations

import re
from datetime import datetime, timezone

import pytest
from sqlmodel import Session

from gateway.config import BUNDLED_PROFILE, ConfigError
from gateway.profile import load_profile, national_classes
from gateway.reporting.daily_report import make_report
from tests.conftest import logged_in
from tests.kits.case_kit import add_case
from tests.kits.dispatch_kit import CITY, set_clock

TWELVE = ["社会保障与就业", "教育文化与体育", "医疗卫生与计划生育", "环境保护与资源利用", "城乡建设与管理", "交通运输与物流",
          "商贸服务与消费者权益保护", "金融服务与保险", "公共安全与治安", "司法服务与法律援助", "行政管理与公共服务", "其他"]


def test_the_twelve_major_classes_are_data_and_no_code_is_claimed_unless_it_is_two_digits():
    majors = national_classes()
    assert [m.name for m in majors] == TWELVE
    codes = [m.code for m in majors if m.code is not None]
    assert all(re.fullmatch(r"\d{2}", c) for c in codes) and len(set(codes)) == len(codes)


def test_every_wuhan_category_names_one_of_the_twelve():
    profile = load_profile(BUNDLED_PROFILE)
    assert all(c.national_class in TWELVE for c in profile.categories)
    assert profile.national_class("street_light").name == "城乡建设与管理"
    assert profile.national_class("教育").name == "教育文化与体育"  # by the category's name too
    assert profile.national_class(None) is None and profile.national_class("no-such-category") is None


@pytest.mark.parametrize(("line", "said"), [("", "no national_class"), ('national_class="城市管理"\n', "national_class '城市管理'")])
def test_a_category_without_a_known_major_class_stops_start_up_naming_the_category(tmp_path, line, said):
    profile = tmp_path / "city.toml"
    profile.write_text(f'[[categories]]\ncode="potholes"\nname="坑洼"\n{line}')
    with pytest.raises(ConfigError, match=rf"HOTLINE_PROFILE.*category potholes has {said}.*社会保障与就业"):
        load_profile(profile)


def test_the_case_json_carries_the_major_class_and_an_empty_code(rt, office_client):
    with Session(rt.engine) as db:
        add_case(db, "WH20260301-000031", category="water")
        add_case(db, "WH20260301-000032", category=None, status="triage")
        db.commit()
    one = office_client.get("/api/v1/cases/WH20260301-000031").get_json()
    assert (one["national_class"], one["national_class_code"]) == ("城乡建设与管理", None)
    listed = {c["number"]: c for c in office_client.get("/api/v1/cases").get_json()["cases"]}
    assert listed["WH20260301-000031"]["national_class"] == "城乡建设与管理"
    assert listed["WH20260301-000032"]["national_class"] is None  # not classified yet


def test_the_twice_daily_report_counts_cases_per_major_class_in_the_window_and_in_all(app, rt):
    def at(day: int, hour: int) -> datetime:
        return datetime(2026, 4, day, hour, tzinfo=CITY).astimezone(timezone.utc)  # stored in UTC, as always

    with Session(rt.engine) as db:
        add_case(db, "WH20260428-000001", category="street_light", created_at=at(28, 9))
        add_case(db, "WH20260428-000002", category="planning", created_at=at(28, 10))
        add_case(db, "WH20260428-000003", category="education", created_at=at(28, 11))
        add_case(db, "WH20260426-000001", category="water", created_at=at(26, 9))  # before the window
        add_case(db, "WH20260428-000004", category=None, status="new", created_at=at(28, 11))
        add_case(db, "WH20260428-000005", category="street_light", created_at=at(28, 13))  # after the report time
        survivor = add_case(db, "WH20260428-000006", category="labour", created_at=at(28, 8))
        add_case(db, "WH20260428-000007", category="labour", status="merged", created_at=at(28, 8),
                 merged_into_id=survivor.id)  # one matter: counted once
        db.commit()
    set_clock(app, 2026, 4, 28, 12)
    make_report()
    body = logged_in(app, "office").get("/api/v1/reports/latest").get_json()
    classes = {c["name"]: c for c in body["national_classes"]}
    assert [c["name"] for c in body["national_classes"]] == TWELVE  # every class, zeros too
    assert classes["城乡建设与管理"] == {"name": "城乡建设与管理", "code": None, "received": 2, "total": 3}
    assert (classes["教育文化与体育"]["received"], classes["社会保障与就业"]["total"]) == (1, 1)
    assert classes["金融服务与保险"] == {"name": "金融服务与保险", "code": None, "received": 0, "total": 0}
    assert body["unclassified"] == {"received": 1, "total": 1}

