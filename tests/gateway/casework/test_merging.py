"""Merging cases and undoing it: numbers resolve, assignments/reporters/events move and come back, the index follows."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from sqlmodel import Session, select

from adapters.base import InboundReport
from gateway.casework import merging
from gateway.intake.ingest import ingest
from gateway.models import Assignment, Case, CaseFeatures, Event, MergeRecord, Report
from tests.conftest import logged_in, run_jobs


@pytest.fixture
def client(app: Any) -> Any:
    """Coordinating-office staff: merges and case reads need a signed-in office user."""
    return logged_in(app, "office")


T0 = datetime(2026, 5, 6, 12, 0, tzinfo=timezone.utc)
LIGHT = "江岸区中山大道888号附近的路灯已经连续三个晚上不亮了，夜里一片漆黑，行人过马路很不安全。"
WATER = "洪山区南湖保利华都小区从前天开始停水，没有任何通知，家里老人小孩生活非常不便。"


def report(ext: str, text: str, phone: str, hours: float = 0, channel: str = "sms") -> InboundReport:
    return InboundReport(channel=channel, external_id=ext, text=text, phone=phone, received_at=T0 + timedelta(hours=hours))


def state(rt: Any, case_id: int) -> dict[str, Any]:
    with Session(rt.engine) as session:
        case = session.get(Case, case_id)
        return {
            "status": case.status,
            "merged_into": case.merged_into_id,
            "reports": sorted(session.exec(select(Report.id).where(Report.case_id == case_id)).all()),
            "assignments": sorted((a.id, a.status) for a in session.exec(select(Assignment).where(Assignment.case_id == case_id))),
            "events": sorted(session.exec(select(Event.id).where(Event.case_id == case_id, Event.kind.not_in(  # type: ignore[attr-defined]
                ("case_merged", "merged_into", "case_unmerged", "unmerged"))))),
            "reporters": case.reporter_count,
            "indexed": session.get(CaseFeatures, case_id) is not None,
        }


def two_dispatched_cases(app: Any, rt: Any) -> tuple[Any, Any]:
    light = ingest(rt, report("s-1", LIGHT, "13800000001"))
    water = ingest(rt, report("s-2", WATER, "13800000002", 1))
    ingest(rt, report("s-3", "保利华都小区还是没水", "13800000002", 2))  # a chase: water has 2 reports, 1 reporter
    run_jobs(app)  # the real dispatch job gives both cases their assignments and events
    return light.case, water.case


def test_merging_a_case_moves_reports_assignments_and_events_and_its_number_resolves_to_the_survivor(app, rt, client):
    light, water = two_dispatched_cases(app, rt)
    before_light, before_water = state(rt, light.id), state(rt, water.id)
    assert before_water["assignments"] and before_water["events"]
    resp = client.post(f"/api/v1/cases/{water.number}/merge", json={"into": light.number})
    assert resp.status_code == 201
    record = resp.get_json()
    assert (record["status"], record["survivor"], record["absorbed"]) == ("applied", light.number, water.number)
    after = state(rt, light.id)
    assert after["reports"] == sorted(before_light["reports"] + before_water["reports"])
    assert after["reporters"] == 2
    assert set(after["events"]) == set(before_light["events"]) | set(before_water["events"])
    moved_or_cancelled = {a for a, _ in after["assignments"]}
    assert {a for a, _ in before_water["assignments"]} <= moved_or_cancelled | {a for a, _ in state(rt, water.id)["assignments"]}
    absorbed = state(rt, water.id)
    assert (absorbed["status"], absorbed["merged_into"], absorbed["indexed"]) == ("merged", light.id, False)
    detail = client.get(f"/api/v1/cases/{water.number}").get_json()
    assert detail["number"] == light.number and detail["resolved_from"] == water.number
    # the survivor's index now covers the absorbed case's matter: a third person's report finds it
    later = ingest(rt, report("s-9", "保利华都小区停水到现在还没恢复，生活非常不便", "13800000009", 5))
    assert later.case.id == light.id


def test_undoing_a_merge_restores_both_cases_as_they_were(app, rt, client):
    light, water = two_dispatched_cases(app, rt)
    before = {light.id: state(rt, light.id), water.id: state(rt, water.id)}
    record = client.post(f"/api/v1/cases/{water.number}/merge", json={"into": light.number}).get_json()
    undone = client.post(f"/api/v1/merges/{record['id']}/undo")
    assert undone.status_code == 200 and undone.get_json()["status"] == "undone"
    assert {light.id: state(rt, light.id), water.id: state(rt, water.id)} == before
    assert client.get(f"/api/v1/cases/{water.number}").get_json()["number"] == water.number
    assert client.post(f"/api/v1/merges/{record['id']}/undo").status_code == 409
    with Session(rt.engine) as session:
        kinds = [e.kind for e in session.exec(select(Event).where(Event.case_id == water.id).order_by(Event.id))]
    assert kinds[-2:] == ["merged_into", "unmerged"] or "unmerged" in kinds


def test_when_both_cases_went_to_one_department_the_duplicate_assignment_is_cancelled_and_restored(app, rt, client):
    first = ingest(rt, report("s-1", LIGHT, "13800000001"))
    second = ingest(rt, report("s-2", "解放大道1200号路灯坏了，晚上很黑", "13800000002", 1))
    run_jobs(app)
    assert first.case.id != second.case.id
    with Session(rt.engine) as session:
        depts = {a.case_id: a.department_id for a in session.exec(select(Assignment))}
    assert depts[first.case.id] == depts[second.case.id]  # both to the street-light department
    record = client.post(f"/api/v1/cases/{second.case.number}/merge", json={"into": first.case.number}).get_json()
    assert [s for _, s in state(rt, second.case.id)["assignments"]] == ["cancelled"]
    client.post(f"/api/v1/merges/{record['id']}/undo")
    assert [s for _, s in state(rt, second.case.id)["assignments"]] == ["dispatched"]


def test_an_automatic_attachment_is_undone_by_splitting_the_report_into_its_own_case(app, rt, client):
    first = ingest(rt, report("s-1", LIGHT, "13800000001"))
    joined = ingest(rt, report("c-1", "来电人反映江岸区中山大道888号附近路灯连续三个晚上不亮，夜里一片漆黑。", "13800000005", 2, "hotline"))
    assert joined.case.id == first.case.id and joined.link == "same_problem"
    listed = client.get("/api/v1/merges?status=applied").get_json()["merges"]
    assert [(m["report_id"], m["rule"]) for m in listed] == [(joined.report.id, "same_problem")]
    resp = client.post(f"/api/v1/merges/{listed[0]['id']}/undo")
    assert resp.status_code == 200
    with Session(rt.engine) as session:
        moved = session.get(Report, joined.report.id)
        new_case = session.get(Case, moved.case_id)
        old_case = session.get(Case, first.case.id)
        assert new_case.id != first.case.id and (old_case.report_count, old_case.reporter_count) == (1, 1)
        assert session.exec(select(MergeRecord).where(MergeRecord.id == listed[0]["id"])).one().status == "undone"
        assert session.get(CaseFeatures, new_case.id) is not None


def test_split_takes_a_report_out_and_refuses_the_last_report_of_a_case(app, rt, client):
    first = ingest(rt, report("s-1", WATER, "13800000002"))
    chase = ingest(rt, report("s-2", "保利华都小区还是没水", "13800000002", 1))
    assert chase.case.id == first.case.id
    resp = client.post(f"/api/v1/reports/{chase.report.id}/split")
    assert resp.status_code == 201
    number = resp.get_json()["case"]["number"]
    assert number != first.case.number
    again = client.post(f"/api/v1/reports/{chase.report.id}/split")
    assert again.status_code == 409 and again.get_json()["error"]["field"] == "id"
    assert client.post("/api/v1/reports/999999/split").status_code == 404


def test_bad_merge_requests_are_4xx_naming_the_field(app, rt, client):
    light = ingest(rt, report("s-1", LIGHT, "13800000001")).case
    assert client.post(f"/api/v1/cases/{light.number}/merge", json={}).get_json()["error"]["field"] == "into"
    assert client.post(f"/api/v1/cases/{light.number}/merge", json={"into": 7}).status_code == 400
    assert client.post(f"/api/v1/cases/{light.number}/merge", json={"into": "WH20990101-000001"}).status_code == 404
    assert client.post("/api/v1/cases/NOPE/merge", json={"into": light.number}).status_code == 404
    same = client.post(f"/api/v1/cases/{light.number}/merge", json={"into": light.number})
    assert same.status_code == 409
    assert client.post("/api/v1/merges/12345/undo").status_code == 404
    assert client.post(f"/api/v1/cases/{light.number}/merge", data="x", content_type="text/plain").status_code == 415


def test_everyone_on_a_merged_case_is_a_reporter_to_tell(app, rt):
    light, water = two_dispatched_cases(app, rt)
    merging.merge_cases(rt, light.id, water.id, "office")
    with Session(rt.engine) as session:
        phones = sorted(c.id for c in merging.reporters(session, light.id))
    assert len(phones) == 2


def test_only_the_office_may_merge_undo_or_list_proposals(app):
    assert app.test_client().get("/api/v1/merges?status=proposed").status_code == 401
    department = logged_in(app, "department", "WH-LIGHT")
    assert department.get("/api/v1/merges?status=proposed").status_code == 403
    assert department.post("/api/v1/merges/1/undo").status_code == 403
    assert logged_in(app, "office").get("/api/v1/merges?status=proposed").status_code == 200
