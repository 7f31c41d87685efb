"""Learning from the office: its decisions on the console and the API become labelled pairs, and
`hotline dedupe calibrate` scores them with the current matcher and proposes thresholds without applying them."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from click.testing import CliRunner
from sqlmodel import Session, select

from adapters.base import InboundReport
from gateway.cli import main
from gateway.intake.ingest import ingest
from gateway.intake.matching import dedupe_of
from gateway.models import DedupeLabel, MergeRecord, Report
from tests.conftest import logged_in, subprocess_env

T0 = datetime(2026, 5, 6, 12, 0, tzinfo=timezone.utc)
CSRF = {"csrf_token": "test-csrf-token"}


def inbound(ext: str, text: str, hours: float, channel: str = "sms", **who: str) -> InboundReport:
    return InboundReport(channel=channel, external_id=ext, text=text, received_at=T0 + timedelta(hours=hours), **who)


@pytest.fixture
def office(app: Any) -> Any:
    return logged_in(app, "office")


def proposal_for(rt: Any, report_id: int) -> MergeRecord:
    with Session(rt.engine) as session:
        return session.exec(select(MergeRecord).where(MergeRecord.report_id == report_id,
                                                      MergeRecord.status == "proposed")).one()


def labels(rt: Any) -> list[DedupeLabel]:
    with Session(rt.engine) as session:
        return list(session.exec(select(DedupeLabel).order_by(DedupeLabel.id)))


def calibrate(config: dict[str, Any], *args: str) -> tuple[str, dict[str, Any]]:
    result = CliRunner().invoke(main, ["dedupe", "calibrate", *args], env=subprocess_env(config))
    assert result.exit_code == 0, result.output
    return result.output, json.loads(result.output.strip().splitlines()[-1])


def test_office_decisions_become_labelled_pairs_and_calibrate_scores_them_without_applying(app, rt, office, config):
    dedupe = dedupe_of(rt)
    profile_thresholds = dedupe.thresholds
    dedupe.thresholds = replace(profile_thresholds, auto=1.0, grey=0.0)  # intake proposes whatever a rule takes
    light = ingest(rt, inbound("l1", "江岸区中山大道888号附近的路灯连续三个晚上不亮了，夜里一片漆黑，过马路很危险", 0,
                               phone="13800000001"))
    call = ingest(rt, inbound("l2", "市民来电反映：江岸区中山大道888号一带路灯已有三晚不亮，夜间无照明，要求尽快修复。", 2,
                              "hotline", phone="13800000002"))
    accepted = proposal_for(rt, call.report.id)
    assert accepted.survivor_case_id == light.case.id
    # the office accepts on the console's merge page
    assert office.post(f"/console/merges/{accepted.id}/accept", data=CSRF).status_code in (302, 303)
    mail = ingest(rt, inbound("l3", "您好，江岸区中山大道888号门口的路灯这几天晚上都不亮，下班回家很黑，麻烦安排维修。", 5,
                              "email", email="reader@example.com"))
    rejected = proposal_for(rt, mail.report.id)
    assert office.post(f"/api/v1/merges/{rejected.id}/reject").status_code == 200  # the office says: another matter
    water = ingest(rt, inbound("w1", "洪山区南湖保利华都小区从前天开始停水，没有任何通知，家里老人小孩生活非常不便。", 6,
                               phone="13800000003"))
    market = ingest(rt, inbound("w2", "汉阳区钟家村菜场门口每天早上摊贩把菜摆到马路上，车过不去", 7, "board",
                                board_user="market-walker"))
    merged = office.post(f"/api/v1/cases/{market.case.number}/merge", json={"into": water.case.number}).get_json()
    assert office.post(f"/api/v1/merges/{merged['id']}/undo").status_code == 200  # a mistake, taken back
    fumes = ingest(rt, inbound("f1", "武昌区中南花园小区南门烧烤店油烟直排，楼上住户窗户都不敢开", 8, phone="13800000004"))
    fumes_call = ingest(rt, inbound("f2", "来电人系武昌区中南花园小区业主，反映南门底商烧烤油烟扰民，要求查处。", 9, "hotline",
                                    phone="13800000005"))
    assert fumes_call.case.id != fumes.case.id
    form = {**CSRF, "into": fumes.case.number, "confirm": "1"}
    assert office.post(f"/console/cases/{fumes_call.case.number}/merge", data=form).status_code in (302, 303)
    stray = ingest(rt, inbound("f3", "青山区钢都花园122街坊自来水发黄好几天了", 10, phone="13800000006"))
    office.post(f"/api/v1/cases/{stray.case.number}/merge", json={"into": fumes.case.number})
    split = office.post(f"/console/reports/{stray.report.id}/split", data={**CSRF, "confirm": "1"})
    assert split.status_code in (302, 303)

    kept = [(lab.report_id, lab.other_reports, lab.same, lab.source) for lab in labels(rt)]
    assert kept == [
        (call.report.id, [light.report.id], True, "accepted"),
        (mail.report.id, [light.report.id, call.report.id], False, "rejected"),
        (market.report.id, [water.report.id], True, "merged"),
        (market.report.id, [water.report.id], False, "undone"),
        (fumes_call.report.id, [fumes.report.id], True, "merged"),
        (stray.report.id, [fumes.report.id, fumes_call.report.id], True, "merged"),
        (stray.report.id, [fumes.report.id, fumes_call.report.id], False, "split"),
    ]
    name = office.user.username  # type: ignore[attr-defined]
    assert {lab.actor for lab in labels(rt)} <= {name, f"user:{name}"}  # the console and the API spell the actor so
    dedupe.thresholds = profile_thresholds

    output, result = calibrate(config, "--show-pairs")
    # each pair's latest word counts: the undone merge and the split report are kept apart
    assert (result["pairs"], result["same"], result["different"]) == (5, 2, 3)
    assert result["sources"] == {"accepted": {"same": 1, "different": 0}, "rejected": {"same": 0, "different": 1},
                                 "merged": {"same": 1, "different": 0}, "split": {"same": 0, "different": 1},
                                 "undone": {"same": 0, "different": 1}}
    scores = {p["report"]: p for p in result["pair_scores"]}
    # the same matcher on the same reports gives the score intake gave when it proposed
    assert scores[call.report.id]["score"] == pytest.approx(accepted.score, abs=1e-4)
    assert scores[mail.report.id]["score"] == pytest.approx(rejected.score, abs=1e-4)
    assert scores[call.report.id]["takeable"] and scores[mail.report.id]["takeable"]

    current = result["current"]
    assert (current["auto"], current["grey"]) == (profile_thresholds.auto, profile_thresholds.grey)
    for name in ("current", "proposed"):
        t = result[name]
        expected_wrong = sum(1 for p in result["pair_scores"] if not p["same"] and p["takeable"] and p["score"] >= t["auto"])
        assert t["different"]["attached_wrongly"] == expected_wrong
        assert sum(t["same"].values()) == 2 and sum(t["different"].values()) == 3
    assert result["proposed"]["different"]["attached_wrongly"] == 0  # precision first
    if scores[mail.report.id]["score"] >= profile_thresholds.auto:  # the rejected look-alike would attach today
        assert result["proposed"]["auto"] > scores[mail.report.id]["score"]
        assert [w["report"] for w in result["attached_wrongly"]] == [mail.report.id]
        assert f"attached wrongly now: report {mail.report.id}" in output
    assert "nothing is changed" in output
    assert dedupe_of(app.extensions["hotline"]).thresholds == profile_thresholds  # printed, never applied


def test_with_no_decisions_calibrate_says_so_and_keeps_the_thresholds(app, rt, config):
    ingest(rt, inbound("a", "江岸区中山大道888号附近的路灯不亮", 0, phone="13800000001"))
    output, result = calibrate(config)
    assert result["pairs"] == 0 and "pair_scores" not in result
    assert (result["proposed"]["auto"], result["proposed"]["grey"]) == (result["current"]["auto"], result["current"]["grey"])
    assert output.startswith("0 labelled pairs")


def test_a_proposal_decided_twice_is_refused_and_labelled_once(app, rt, office):
    dedupe = dedupe_of(rt)
    dedupe.thresholds = replace(dedupe.thresholds, auto=1.0, grey=0.0)
    ingest(rt, inbound("l1", "江岸区中山大道888号附近的路灯连续三个晚上不亮了，夜里一片漆黑", 0, phone="13800000001"))
    call = ingest(rt, inbound("l2", "市民来电反映：江岸区中山大道888号一带路灯已有三晚不亮，要求尽快修复。", 2, "hotline",
                              phone="13800000002"))
    record = proposal_for(rt, call.report.id)
    assert office.post(f"/api/v1/merges/{record.id}/reject").status_code == 200
    assert office.post(f"/api/v1/merges/{record.id}/reject").status_code == 409
    assert office.post(f"/api/v1/merges/{record.id}/accept").status_code == 409
    assert [(lab.source, lab.same, lab.merge_record_id) for lab in labels(rt)] == [("rejected", False, record.id)]
    with Session(rt.engine) as session:
        assert session.get(Report, call.report.id).case_id == call.case.id  # still apart
