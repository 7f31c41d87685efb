"""The operator's duplicate hint lists the open cases at the ticket's very place first: in other words than the
ticket's, beyond what the matcher reads, and at places the gazetteer does not know."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlmodel import Session

from gateway.clock import utcnow
from gateway.intake.matching import dedupe_of
from gateway.models import Report
from tests.conftest import logged_in
from tests.kits.case_kit import add_case

URL = "/api/v1/operator/suggest"
AGED = 40  # days: older than the hint's district scan reads


@pytest.fixture
def operator(app: Any) -> Any:
    return logged_in(app, "operator")


def cases(rt: Any, rows: list[tuple[str, str, str, str, int]]) -> None:
    """Open cases (number, district, address, text, age in days) with one web report each, indexed by the matcher
    from their reports (as `hotline dedupe reindex --full` does)."""
    dedupe = dedupe_of(rt)
    with Session(rt.engine) as db:
        for number, district, address, text, days in rows:
            at = utcnow() - timedelta(days=days)
            case = add_case(db, number, title=text[:18], summary=text, district=district, address=address,
                            category=None, created_at=at)
            db.add(Report(case_id=case.id, channel="web", text=text, address=address, district=district,
                          received_at=at, created_at=at))
            db.flush()
            dedupe.rebuild_case(db, case.id, indexed=False)
        db.commit()


def listed(operator: Any, text: str, address: str) -> list[str]:
    body = operator.get(URL, query_string={"text": text, "address": address}).get_json()
    return [c["number"] for c in body["nearby_cases"]]


def test_a_case_at_the_same_house_number_in_other_words_comes_first(operator, rt):
    cases(rt, [("WH20261201-000001", "武昌区", "武昌区京汉大道209号", "京汉大道209号门口摊贩占道，行人只能走机动车道。", 3),
               *((f"WH20261201-00001{i}", "武昌区", f"武昌区{road}{n}号", f"{road}{n}号路口有人占道经营乱摆摊，早晚高峰堵得走不动。", 2)
                 for i, (road, n) in enumerate((("中山路", 11), ("和平大道", 12), ("友谊大道", 13), ("武珞路", 14),
                                                ("珞喻路", 15), ("中北路", 16))))])
    found = listed(operator, "京汉大道209号路口有人占道经营乱摆摊，早晚高峰堵得走不动。", "武昌区京汉大道209号")
    assert found[0] == "WH20261201-000001"


def test_an_old_open_case_at_the_place_is_found_past_the_roads_newest_cases(operator, rt):
    rows = [("WH20261001-000001", "武昌区", "武昌区京汉大道919号", "京汉大道919号小区物业乱收费，停车费一年涨了五百元。", AGED)]
    rows += [(f"WH20261201-{i:06d}", "江岸区", f"江岸区京汉大道{i}号", f"京汉大道{i}号井盖缺失第{i}处，请尽快处理。", 1)
             for i in range(100, 145)]  # more than the index keeps per key (40), all on the same road
    cases(rt, rows)
    found = listed(operator, "京汉大道919号物业收费太高，停车费涨得离谱。", "武昌区京汉大道919号")
    assert found[0] == "WH20261001-000001"
    assert listed(operator, "京汉大道920号物业收费太高，停车费涨得离谱。", "武昌区京汉大道920号")[:1] != ["WH20261001-000001"]


def test_a_place_the_gazetteer_does_not_know_is_matched_by_the_address_as_typed(operator, rt):
    cases(rt, [("WH20261201-000001", "新洲区", "新洲区涨渡湖街道星城佳园B区", "投诉星城佳园B区物业服务差，公共区域没人打扫，停车费乱收。", 5),
               *((f"WH20261201-00002{i}", "新洲区", f"新洲区{p}", f"{p}物业乱收费，停车费一年涨了八百元。", 1)
                 for i, p in enumerate(("解放大道473号", "珞喻路270号", "新华路608号", "解放大道670号", "青年路914号",
                                        "台北路33号")))])
    found = listed(operator, "星城佳园B区物业乱收费，停车费一年涨了8百元。", "涨渡湖街道星城佳园B区")
    assert found[0] == "WH20261201-000001"
