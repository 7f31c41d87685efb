"""Sub-units: 汉阳区 passes a case on to its 城乡建设局 and two 街道, inside its own deadline, sees their progress,
answers for them; the rankings roll the sub-units up into the district."""

from __future__ import annotations

from typing import Any

import pytest
from sqlmodel import Session, select

from gateway.config import ConfigError
from gateway.models import Department
from gateway.profile import load_profile
from tests.conftest import logged_in
from tests.kits.dispatch_kit import assignments, case, events, local, set_clock

CSRF = {"csrf_token": "test-csrf-token"}
SUBS = ["D-HANYANG-JIANSHE", "D-HANYANG-ZJC", "D-HANYANG-SX"]


@pytest.fixture
def office(app: Any) -> Any:
    return logged_in(app, "office")


def test_the_seed_links_the_streets_and_the_bureau_to_their_district(rt):
    with Session(rt.engine) as session:
        units = list(session.exec(select(Department)).all())
    by_id, by_code = {d.id: d for d in units}, {d.code: d for d in units}
    assert {code: by_id[by_code[code].parent_id].code for code in SUBS} == dict.fromkeys(SUBS, "D-HANYANG")


def test_an_unknown_or_circular_parent_stops_start_up(tmp_path):
    base = (tmp_path / "p.toml")
    base.write_text('[[departments]]\ncode = "A"\nname = "a"\nparent = "B"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match="department A has an unknown parent 'B'"):
        load_profile(base)
    base.write_text('[[departments]]\ncode = "A"\nname = "a"\nparent = "B"\n[[departments]]\ncode = "B"\nname = "b"\n'
                    'parent = "A"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match="its own ancestor"):
        load_profile(base)


def hanyang_case(app, office, jobs) -> str:
    set_clock(app, 2026, 4, 27, 10)
    resp = office.post("/api/v1/reports", json={"title": "钟家村违章搭建", "text": "汉阳区钟家村某小区顶楼违章搭建，施工噪音扰民。"})
    number = resp.get_json()["case"]["number"]
    jobs()
    office.post(f"/api/v1/cases/{number}/dispatch", json={"departments": [{"code": "D-HANYANG", "role": "lead"}]})
    jobs()
    return number


def test_the_district_passes_the_case_on_and_answers_for_its_sub_units(app, office, rt, jobs):
    number = hanyang_case(app, office, jobs)
    district = assignments(rt, number)["D-HANYANG"]
    unit = logged_in(app, "department", "D-HANYANG")
    set_clock(app, 2026, 4, 27, 11)
    resp = unit.post(f"/api/v1/assignments/{district.id}/pass", json={"units": ["WH-EDU"]})
    assert resp.status_code == 409 and "not sub-units" in resp.get_json()["error"]["message"]
    page = unit.get(f"/workbench/assignments/{district.id}").get_data(as_text=True)
    assert "转办下级单位" in page and "汉阳区钟家村街道办事处" in page
    done = unit.post(f"/workbench/assignments/{district.id}/pass", data={**CSRF, "unit": SUBS, "note": "请现场核查"})
    assert done.status_code in (302, 303)
    jobs()
    rows = assignments(rt, number)
    for code in SUBS:
        sub = rows[code]
        assert sub.role == "sub" and sub.parent_assignment_id == district.id
        assert local(sub.due_at) <= local(rows["D-HANYANG"].due_at) and local(sub.ack_due_at) <= local(sub.due_at)
    assert rows["D-HANYANG"].status == "signed"
    street = logged_in(app, "department", "D-HANYANG-ZJC")
    assert street.post(f"/api/v1/assignments/{rows['D-HANYANG-ZJC'].id}/reply", json={"text": "已现场核查，属实。"}).status_code == 200
    page = unit.get(f"/workbench/assignments/{district.id}").get_data(as_text=True)
    assert "下级单位办理情况" in page and "已现场核查，属实。" in page
    assert case(rt, number).status != "replied"  # a sub-unit's answer is input, not the case's answer
    unit.post(f"/api/v1/assignments/{district.id}/reply", json={"text": "经区建设局和街道核查，已责令拆除。"})
    jobs()
    rows = assignments(rt, number)
    assert case(rt, number).status == "replied"
    assert (rows["D-HANYANG-JIANSHE"].status, rows["D-HANYANG-SX"].status, rows["D-HANYANG-ZJC"].status) == (
        "cancelled", "cancelled", "replied")  # nobody chases what the district answered for
    assert events(rt, number, "passed_on") and events(rt, number, "sub_input")
    set_clock(app, 2026, 4, 27, 12)
    ranking = office.get("/console/reports?days=7").get_data(as_text=True)
    assert "汉阳区人民政府" in ranking and "含1个下级单位" in ranking  # the street that answered, rolled up
    assert "汉阳区钟家村街道办事处" not in ranking.split('<table class="table ranking">')[1].split("</table>")[0]
