"""Dedupe through the real intake path: the three rules, hard negatives, proposals, identity across channels."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from sqlalchemy import func
from sqlmodel import Session, select

from adapters.base import InboundReport
from gateway.intake.ingest import ingest
from gateway.models import Case, CaseFeatures, DedupeKey, MergeRecord, Report
from tests.conftest import logged_in


@pytest.fixture
def client(app: Any) -> Any:
    """Coordinating-office staff: merges and case reads need a signed-in office user."""
    return logged_in(app, "office")


T0 = datetime(2026, 5, 6, 12, 0, tzinfo=timezone.utc)

BOARD = dict(title="万达公馆楼下餐馆油烟扰民",
             text="武昌区积玉桥万达公馆小区临街门面的餐馆油烟直排，每天晚上营业到凌晨，油烟和噪音严重影响居民休息。")
OTHER_ESTATE = dict(title="保利中心楼下餐馆油烟扰民",
                    text="武昌区中南路保利中心小区临街门面的餐馆油烟直排，每天晚上营业到凌晨，油烟和噪音严重影响居民休息。")


def report(channel: str, ext: str, hours: float = 0, **fields: Any) -> InboundReport:
    return InboundReport(channel=channel, external_id=ext, received_at=T0 + timedelta(hours=hours), **fields)


def close(rt: Any, case_id: int, at: datetime) -> None:
    with Session(rt.engine) as session:
        case = session.get(Case, case_id)
        case.status, case.closed_at = "closed", at
        session.add(case)
        session.commit()


def case_count(rt: Any) -> int:
    with Session(rt.engine) as session:
        return session.exec(select(func.count()).select_from(Case)).one()


def test_a_provider_retry_is_the_same_report_and_no_new_case(app, rt):
    first = ingest(rt, report("board", "b-1", board_user="u1", **BOARD))
    again = ingest(rt, report("board", "b-1", board_user="u1", **BOARD))
    assert (first.created, again.created, again.link) == (True, False, "replay")
    assert again.case.id == first.case.id and case_count(rt) == 1


def test_an_sms_and_then_a_hotline_call_from_one_phone_about_one_estate_are_one_case(app, rt):
    sms = ingest(rt, report("sms", "sms-1", phone="13907220002", text="万达公馆楼下饭店油烟太大，晚上开不了窗"))
    call = ingest(rt, report("hotline", "call-1", 3, phone="+86 139 0722 0002", title="餐饮油烟扰民",
                             text="来电人反映武昌区积玉桥万达公馆小区临街餐馆油烟直排、夜间噪音扰民，要求相关部门处理。"))
    assert call.case.id == sms.case.id
    assert call.link == "same_person"
    assert call.report.contact_id == sms.report.contact_id
    assert call.report.decision["action"] == "attach" and call.report.decision["rule"] == "same_person"
    assert {r["feature"] for r in call.report.decision["reasons"]} >= {"text_similarity", "place_match", "same_contact"}
    assert call.case.reporter_count == 1 and call.case.report_count == 2


def test_a_web_post_and_an_email_from_its_linked_address_are_one_case(app, rt):
    web = ingest(rt, report("web", "w-1", phone="13986110007", email="ma.jun@example.com", title="电梯困人物业不管",
                            text="东西湖区碧桂园小区电梯经常故障停运，困人好几次，物业不作为，请住房部门督促维修。"))
    mail = ingest(rt, report("email", "m-1", 20, email="Ma.Jun@Example.com", title="再次反映碧桂园电梯",
                             text="昨天在网上反映过碧桂园小区电梯的问题，今天早上电梯又停了，老人只能爬楼。"))
    assert (mail.case.id, mail.link) == (web.case.id, "same_person")


def test_other_people_reporting_one_problem_make_one_case_with_many_reporters(app, rt):
    first = ingest(rt, report("board", "b-1", board_user="wuchang_mom", **BOARD))
    second = ingest(rt, report("email", "m-1", 10, email="liu.wei@example.com", title="投诉：万达公馆底商油烟",
                               text="武昌区万达公馆小区一楼的饭店油烟直排，晚上营业到凌晨，窗户都不敢开，请环保部门查处。"))
    assert (second.case.id, second.link) == (first.case.id, "same_problem")
    with Session(rt.engine) as session:
        case = session.get(Case, first.case.id)
        assert (case.reporter_count, case.report_count) == (2, 2)
        record = session.exec(select(MergeRecord).where(MergeRecord.report_id == second.report.id)).one()
        assert (record.status, record.origin, record.rule) == ("applied", "auto", "same_problem")
        assert record.reasons and record.score >= rt.matcher.thresholds.auto


def test_the_same_complaint_template_about_another_estate_stays_its_own_case(app, rt):
    first = ingest(rt, report("board", "b-1", board_user="u1", **BOARD))
    other = ingest(rt, report("board", "b-2", 2, board_user="u2", **OTHER_ESTATE))
    assert other.case.id != first.case.id and other.link == "new"
    reasons = {r["feature"]: r["value"] for r in other.report.decision["reasons"]}
    assert other.report.decision["action"] == "new"
    assert reasons["veto"] == "different_place" and reasons["nearest_case"] == first.case.id
    assert reasons["text_similarity"] > 0.5  # the texts are near copies; only the place tells them apart


def test_newer_copies_of_a_template_at_other_estates_do_not_crowd_the_same_estates_case_out_of_the_candidates(app, rt):
    matcher = rt.matcher
    matcher.max_candidates = 3
    first = ingest(rt, report("board", "b-1", board_user="wuchang_mom", **BOARD))
    for i, estate in enumerate(["保利中心", "华润中心", "中南花园", "水果湖花园"]):
        copy = ingest(rt, report("board", f"b-copy-{i}", 1 + i, board_user=f"u{i}",
                                 title=f"{estate}楼下餐馆油烟扰民", text=OTHER_ESTATE["text"].replace("保利中心", estate)))
        assert copy.created and copy.case.id != first.case.id
    second = ingest(rt, report("email", "m-1", 10, email="liu.wei@example.com", title="投诉：万达公馆底商油烟",
                               text="武昌区万达公馆小区一楼的饭店油烟直排，晚上营业到凌晨，窗户都不敢开，请环保部门查处。"))
    assert (second.case.id, second.link) == (first.case.id, "same_problem")


def test_smoke_then_noise_from_the_same_estates_shops_weeks_apart_in_other_words_is_one_case(app, rt):
    # The profile's [dedupe.topics] name both as a kind of problem (fumes); the texts share almost nothing.
    smoke = ingest(rt, report("board", "b-1", board_user="u1", title="万达公馆一楼夜宵店油烟",
                              text="武昌区万达公馆小区一楼的几家夜宵店灶台油烟随意排放，柴火味熏人。"))
    noise = ingest(rt, report("email", "m-1", 24 * 20, email="zhao@example.com", title="万达公馆底层商铺营业到凌晨",
                              text="万达公馆小区一楼商铺营业到凌晨，吆喝声吵得睡不着，烧烤的烟往楼上窜。"))
    other = ingest(rt, report("web", "w-1", 24 * 21, phone="13907220009", title="万达公馆遛狗不牵绳",
                              text="万达公馆小区有人遛狗不牵绳，养狗的业主不清理粪便。"))
    assert (noise.case.id, noise.link) == (smoke.case.id, "same_problem")
    reasons = {r["feature"]: r["value"] for r in noise.report.decision["reasons"]}
    assert reasons["topic_match"] == ["fumes"] and reasons["text_similarity"] < 0.04
    assert other.case.id != smoke.case.id  # the same estate, another kind of problem


def test_a_problem_reported_again_after_the_window_by_someone_else_opens_a_new_case(app, rt):
    first = ingest(rt, report("board", "b-1", board_user="u1", **BOARD))
    close(rt, first.case.id, T0 + timedelta(hours=5))
    late = ingest(rt, report("board", "b-2", 24 * 5, board_user="u2", **BOARD))
    assert late.case.id != first.case.id


def test_the_same_person_chasing_a_recently_closed_case_reopens_it(app, rt):
    first = ingest(rt, report("sms", "s-1", phone="13627130003", text="洪山区保利华都小区停水两天，物业无法说明原因"))
    close(rt, first.case.id, T0 + timedelta(days=1))
    chase = ingest(rt, report("sms", "s-2", 24 * 10, phone="13627130003", text="保利华都小区又停水了，还是没人管"))
    assert (chase.case.id, chase.link, chase.case.status) == (first.case.id, "same_person", "reopened")
    close(rt, first.case.id, T0 + timedelta(days=11))
    gone = ingest(rt, report("sms", "s-3", 24 * 45, phone="13627130003", text="保利华都小区又停水了，还是没人管"))
    assert gone.case.id != first.case.id  # closed more than same_person_days ago


def test_a_grey_zone_score_opens_a_new_case_and_proposes_the_merge_to_the_office(app, rt, client):
    first = ingest(rt, report("board", "b-1", board_user="u1", **BOARD))
    matcher = rt.matcher
    probe = report("email", "m-1", 10, email="liu.wei@example.com", title="投诉：万达公馆底商",
                   text="武昌区万达公馆小区一楼的饭店排气直冲楼上，晚上营业到凌晨，窗户都不敢开，请环保部门查处。")
    # (no word of a [dedupe.topics] kind in the probe, so its score stays below 1)
    matcher.thresholds = replace(matcher.thresholds, auto=0.999, grey=0.3)  # as a stricter [dedupe] profile would
    second = ingest(rt, probe)
    assert second.case.id != first.case.id and second.link == "new"
    assert second.report.decision["action"] == "propose" and second.report.decision["case_id"] == first.case.id
    with Session(rt.engine) as session:
        record = session.exec(select(MergeRecord).where(MergeRecord.report_id == second.report.id)).one()
    assert (record.status, record.survivor_case_id, record.absorbed_case_id) == ("proposed", first.case.id, second.case.id)
    listed = client.get("/api/v1/merges?status=proposed").get_json()["merges"]
    assert [m["id"] for m in listed] == [record.id] and listed[0]["reasons"]
    accepted = client.post(f"/api/v1/merges/{record.id}/accept")
    assert accepted.status_code == 200 and accepted.get_json()["status"] == "applied"
    moved = client.get(f"/api/v1/cases/{second.case.number}").get_json()
    assert moved["number"] == first.case.number and moved["reporter_count"] == 2
    assert client.post(f"/api/v1/merges/{record.id}/accept").status_code == 409


def test_a_rejected_proposal_leaves_both_cases_apart(app, rt, client):
    ingest(rt, report("board", "b-1", board_user="u1", **BOARD))
    rt.matcher.thresholds = replace(rt.matcher.thresholds, auto=0.999, grey=0.3)
    second = ingest(rt, report("email", "m-1", 10, email="liu.wei@example.com", title="投诉：万达公馆底商",
                               text="武昌区万达公馆小区一楼的饭店排气直冲楼上，晚上营业到凌晨，窗户都不敢开，请环保部门查处。"))
    record_id = client.get("/api/v1/merges?status=proposed").get_json()["merges"][0]["id"]
    assert client.post(f"/api/v1/merges/{record_id}/reject").get_json()["status"] == "rejected"
    assert client.get(f"/api/v1/cases/{second.case.number}").get_json()["number"] == second.case.number
    assert client.get("/api/v1/merges?status=proposed").get_json()["merges"] == []
    assert client.get("/api/v1/merges?status=maybe").status_code == 400


def test_the_index_holds_a_bounded_set_of_keys_per_case_and_follows_attachments(app, rt):
    first = ingest(rt, report("board", "b-1", board_user="u1", **BOARD))
    for i in range(5):
        ingest(rt, report("sms", f"s-{i}", 1 + i, phone=f"1390000000{i}", text="万达公馆楼下饭店油烟直排，晚上营业到凌晨太吵了"))
    with Session(rt.engine) as session:
        keys = session.exec(select(func.count()).select_from(DedupeKey).where(DedupeKey.case_id == first.case.id)).one()
        stored = session.get(CaseFeatures, first.case.id)
        reports = session.exec(select(func.count()).select_from(Report).where(Report.case_id == first.case.id)).one()
    assert reports == 6
    assert keys == len(stored.keys) <= 30
    assert sum(1 for k in stored.keys if k.startswith("p:")) >= 5  # each reporter's next report finds the case


def test_dedupe_reindex_rebuilds_the_index_rows_that_an_upgrade_made_stale(app, rt, config):
    from click.testing import CliRunner

    from gateway.cli import main
    from tests.conftest import subprocess_env

    first = ingest(rt, report("board", "b-1", board_user="u1", **BOARD))
    with Session(rt.engine) as session:
        before = sorted(session.exec(select(DedupeKey.key).where(DedupeKey.case_id == first.case.id)).all())
        for row in session.exec(select(DedupeKey)).all():  # as a release with other key ids would find them
            session.delete(row)
        session.add(DedupeKey(key=12345, case_id=first.case.id))
        session.commit()
    lost = ingest(rt, report("board", "b-2", 1, board_user="u2", **BOARD))
    assert lost.case.id != first.case.id  # the stale index no longer finds the case

    for flags in ([], ["--full"]):
        result = CliRunner().invoke(main, ["dedupe", "reindex", *flags], env=subprocess_env(config))
        assert result.exit_code == 0, result.output
        assert "reindexed 2 cases" in result.output
        with Session(rt.engine) as session:
            after = sorted(session.exec(select(DedupeKey.key).where(DedupeKey.case_id == first.case.id)).all())
        assert after == before
    found = ingest(rt, report("board", "b-3", 2, board_user="u3", **BOARD))
    assert found.case.id in (first.case.id, lost.case.id) and found.link == "same_problem"


def test_stored_features_are_utf8_json_without_escapes(app, rt):
    from sqlalchemy import text

    first = ingest(rt, report("board", "b-1", board_user="u1", **BOARD))
    with Session(rt.engine) as session:
        stored = session.execute(text("SELECT CAST(features AS TEXT) FROM casefeatures WHERE case_id = :c"),
                                 {"c": first.case.id}).scalar_one()
    assert "万达公馆" in stored and "\\u" not in stored and '", "' not in stored
