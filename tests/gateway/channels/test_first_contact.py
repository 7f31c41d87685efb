"""即时办: the operator answers a caller's matter on the call and closes it (stored through the one create path,
never dispatched, answered by the usual messaging, counted in 即时办结率 and as on time); the knowledge base
the operator searches while typing (the office's entries and past replies, masked); the form's timing."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from sqlmodel import Session, select

from gateway.models import AuditEntry, Case, FollowUp, KnowledgeEntry, Outbox, Reply, Report
from gateway.reporting.rates import period_rates
from tests.conftest import logged_in
from tests.kits.channel_kit import count, reports
from tests.kits.dispatch_kit import assignments, case, events, notifications, set_clock

ASK = {"ticket_no": "OP-00000000000000c1", "caller_number": "13800138001", "caller_name": "李女士",
       "appeal_type": "咨询", "category": "劳动社保", "district": "", "address": "",
       "title": "社保卡补办", "content": "社保卡丢了，想问一下在哪里补办，需要带什么材料？", "urgency": "一般",
       "operator_id": "A0107", "csrf_token": "test-csrf-token",
       "answer": "社保卡可携带身份证到社保经办机构或合作银行网点补办，当场挂失。", "action": "resolve"}
ANSWER = ASK["answer"]


@pytest.fixture
def client(app: Any) -> Any:
    return logged_in(app, "operator")


def number_in(page: str) -> str:
    return re.search(r'class="case-number">([^<]+)<', page).group(1)


def audits(rt: Any, action: str) -> list[AuditEntry]:
    with Session(rt.engine) as session:
        return list(session.exec(select(AuditEntry).where(AuditEntry.action == action)).all())


def test_a_consultation_closed_on_the_call_is_stored_answered_and_never_dispatched(app, client, rt, jobs, office_client):
    set_clock(app, 2026, 4, 27, 10)
    resp = client.post("/operator/", data=ASK)
    assert resp.status_code == 201
    page = resp.get_data(as_text=True)
    assert "已即时办结" in page and ANSWER in page
    number = number_in(page)
    closed = case(rt, number)
    assert (closed.status, closed.closed_on_call, closed.appeal_type) == ("closed", True, "咨询")
    assert closed.category == "labour" and closed.closed_at is not None
    with Session(rt.engine) as session:
        assert not session.exec(select(Outbox).where(Outbox.func == "dispatch_case")).all()
        [reply] = session.exec(select(Reply)).all()
    assert (reply.kind, reply.status, reply.round, reply.text) == ("explanation", "approved", 1, ANSWER)
    assert reply.written_by == "operator:A0107"
    [held] = assignments(rt, number).values()  # the 12345 centre's own, met at the call
    assert held.status == "replied" and held.role == "lead"
    assert held.replied_at == held.due_at == held.ack_due_at == held.acknowledged_at
    assert [e.kind for e in events(rt, number)] == ["created", "replied", "closed_on_call"]
    [entry] = audits(rt, "closed_on_call")
    assert entry.target == f"case:{number}" and entry.actor == client.user.actor
    jobs()
    assert not [e for e in events(rt, number) if e.kind == "dispatched"]
    [sent] = notifications(rt, number, "reply")  # the usual reply, on the caller's channel
    assert sent.channel == "sms" and sent.address == "+8613800138001" and ANSWER in sent.body
    with Session(rt.engine) as session:
        assert session.exec(select(FollowUp)).all() == []  # answered on the line: no visit asks again
    assert case(rt, number).status == "closed"
    # searchable like any case, by its words and by the 即时办结 filter
    listing = office_client.get("/console/", query_string={"q": "社保卡"}).get_data(as_text=True)
    assert number in listing
    assert number in office_client.get("/console/", query_string={"on_call": "1"}).get_data(as_text=True)
    assert "即时办结" in office_client.get(f"/console/cases/{number}").get_data(as_text=True)
    # counted: 即时办结率 1/1, and the answer on time in the casework rates
    with Session(rt.engine) as session:
        start = closed.created_at - timedelta(hours=1)
        every = period_rates(session, start, start + timedelta(days=1))[None]
    assert (every.tickets, every.on_call, every.first_contact_rate) == (1, 1, 1.0)
    assert (every.ack_on_time, every.ack_due, every.done_on_time, every.done_due) == (1, 1, 1, 1)


def test_a_dispatched_ticket_counts_in_the_rate_but_not_as_closed_on_the_call(app, client, rt):
    set_clock(app, 2026, 4, 27, 10)
    client.post("/operator/", data=ASK)
    client.post("/operator/", data={**ASK, "ticket_no": "OP-00000000000000c2", "caller_number": "13900139002",
                                    "appeal_type": "投诉", "content": "江岸区中山大道888号路灯三晚不亮", "action": "create"})
    with Session(rt.engine) as session:
        now = session.exec(select(Case.created_at)).first()
        every = period_rates(session, now - timedelta(hours=1), now + timedelta(hours=1))[None]
    assert (every.tickets, every.on_call, every.first_contact_rate) == (2, 1, 0.5)


def test_a_complaint_settled_on_the_call_is_a_final_reply_and_the_operator_may_choose(client, rt):
    client.post("/operator/", data={**ASK, "appeal_type": "求助"})
    client.post("/operator/", data={**ASK, "ticket_no": "OP-00000000000000c3", "reply_kind": "final"})
    with Session(rt.engine) as session:
        assert [r.kind for r in session.exec(select(Reply).order_by(Reply.id)).all()] == ["final", "final"]


@pytest.mark.parametrize("missing, field", [("answer", "answer"), ("category", "category")])
def test_closing_on_the_call_needs_the_answer_and_the_category(client, rt, missing, field):
    resp = client.post("/operator/", data={**ASK, missing: ""})
    assert resp.status_code == 422
    assert f"无法提交：{field}：" in resp.get_data(as_text=True)
    assert count(rt, Report) == 0 and count(rt, Case) == 0


def test_a_reply_type_other_than_an_answer_is_refused(client, rt):
    resp = client.post("/operator/", data={**ASK, "reply_kind": "not_accepted"})
    assert resp.status_code == 422 and "reply_kind" in resp.get_data(as_text=True)
    assert count(rt, Case) == 0


@pytest.mark.parametrize("knowledge_id", ["²", "9" * 5000, "99999999999999999999", "-3", "x1", "4242"])
def test_a_knowledge_id_that_is_not_an_answers_id_is_a_422_naming_it(client, rt, knowledge_id):
    # The hidden field is the browser's to send: a digit int() cannot read ('²') or one past its 4,300-digit
    # limit raised ValueError out of the view (a 500).
    resp = client.post("/operator/", data={**ASK, "knowledge_id": knowledge_id})
    assert resp.status_code == 422 and "knowledge_id" in resp.get_data(as_text=True)
    assert count(rt, Case) == 0


def test_a_resubmitted_closing_form_changes_nothing(client, rt):
    first = number_in(client.post("/operator/", data=ASK).get_data(as_text=True))
    again = client.post("/operator/", data=ASK)
    assert again.status_code == 200 and number_in(again.get_data(as_text=True)) == first
    assert count(rt, Reply) == 1 and len(audits(rt, "closed_on_call")) == 1


def test_closing_on_the_call_opens_a_case_of_its_own_even_beside_the_callers_open_one(client, rt):
    open_one = number_in(client.post("/operator/", data={**ASK, "ticket_no": "OP-00000000000000d1", "action": "create",
                                                         "appeal_type": "投诉"}).get_data(as_text=True))
    closed = number_in(client.post("/operator/", data=ASK).get_data(as_text=True))
    assert closed != open_one and case(rt, open_one).status != "closed"


# -- the form's timing ------------------------------------------------------------------------------------


def stamp_of(page: str) -> tuple[str, str]:
    ticket = re.search(r'name="ticket_no" value="([^"]+)"', page).group(1)
    opened = re.search(r'name="opened" value="([^"]+)"', page).group(1)
    return ticket, opened


def test_the_form_carries_when_it_was_opened_and_the_ticket_keeps_the_time_to_save(app, client, rt):
    set_clock(app, 2026, 4, 27, 10, 0)
    ticket, opened = stamp_of(client.get("/operator/").get_data(as_text=True))
    set_clock(app, 2026, 4, 27, 10, 2)  # two minutes on the phone
    client.post("/operator/", data={**ASK, "ticket_no": ticket, "opened": opened})
    [row] = reports(rt, "hotline")
    assert row.extra["operator_id"] == "A0107" and row.extra["operator_user"] == client.user.username
    assert "form_opened_at" in row.extra
    assert row.extra["form_seconds"] == 120.0


def test_a_forged_or_foreign_stamp_measures_nothing(app, client, rt):
    ticket, opened = stamp_of(client.get("/operator/").get_data(as_text=True))
    client.post("/operator/", data={**ASK, "ticket_no": "OP-00000000000000e1", "opened": opened})  # another ticket's
    client.post("/operator/", data={**ASK, "ticket_no": "OP-00000000000000e2", "opened": opened[:-2] + "xx"})
    assert all("form_seconds" not in r.extra for r in reports(rt, "hotline"))


# -- the knowledge base -----------------------------------------------------------------------------------


def test_the_office_keeps_entries_that_the_operator_finds_as_they_type(app, client, rt):
    office = logged_in(app, "office")
    resp = office.post("/console/knowledge", data={"title": "社保卡丢了怎么补办", "category": "labour",
                                                    "text": "携带身份证到社保经办机构或合作银行网点办理挂失和补卡。",
                                                    "csrf_token": "test-csrf-token"})
    assert resp.status_code == 302
    office.post("/console/knowledge", data={"title": "燃气费怎么交", "text": "燃气费可在燃气公司营业厅或网上缴纳。",
                                             "csrf_token": "test-csrf-token"})
    found = client.get("/api/v1/operator/knowledge", query_string={"q": "请问社保卡丢了要去哪里补"}).get_json()["answers"]
    assert found[0]["title"] == "社保卡丢了怎么补办" and found[0]["source"] == "entry"
    assert found[0]["category_name"] == "劳动社保"
    assert all("燃气" not in a["title"] for a in found)
    with Session(rt.engine) as session:
        entry_id = session.exec(select(KnowledgeEntry.id).where(KnowledgeEntry.title == "社保卡丢了怎么补办")).one()
    office.post(f"/console/knowledge/{entry_id}", data={"action": "save", "title": "社保卡丢了怎么补办",
                                                          "text": "社保卡补办现在统一在政务服务中心办理。",
                                                          "csrf_token": "test-csrf-token"})
    found = client.get("/api/v1/operator/knowledge", query_string={"q": "社保卡补办去哪"}).get_json()["answers"]
    assert found[0]["text"] == "社保卡补办现在统一在政务服务中心办理。"
    office.post(f"/console/knowledge/{entry_id}", data={"action": "retire", "csrf_token": "test-csrf-token"})
    found = client.get("/api/v1/operator/knowledge", query_string={"q": "社保卡补办去哪"}).get_json()["answers"]
    assert not [a for a in found if a["source"] == "entry" and a["source_id"] == entry_id]
    assert "已停用" in office.get("/console/knowledge?status=retired").get_data(as_text=True)
    actions = [e.action for e in audits(rt, "knowledge_created") + audits(rt, "knowledge_changed")
               + audits(rt, "knowledge_retired")]
    assert sorted(actions) == ["knowledge_changed", "knowledge_created", "knowledge_created", "knowledge_retired"]


def test_only_the_office_keeps_the_base_and_only_staff_search_it(app, client):
    form = {"title": "问题", "text": "答复", "csrf_token": "test-csrf-token"}
    assert client.post("/console/knowledge", data=form).status_code == 403  # an operator searches, not keeps
    assert logged_in(app, "department").get("/console/knowledge").status_code == 403
    assert app.test_client().get("/api/v1/operator/knowledge?q=社保卡").status_code == 401
    assert logged_in(app, "department").get("/api/v1/operator/knowledge?q=社保卡").status_code == 403
    office = logged_in(app, "office")
    assert office.post("/console/knowledge", data={**form, "text": ""}).status_code == 302  # refused, said why
    assert "都须填写" in office.get("/console/knowledge").get_data(as_text=True)


@pytest.mark.parametrize("query", [{}, {"q": "  "}, {"q": "字" * 2001}])
def test_a_search_without_words_or_with_too_many_is_a_clear_400(client, query):
    resp = client.get("/api/v1/operator/knowledge", query_string=query)
    assert resp.status_code == 400 and resp.get_json()["error"]["field"] == "q"


def test_a_search_in_a_category_the_city_does_not_have_is_a_clear_422(client):
    """A typo in the category used to search every category silently: the operator must know the filter failed."""
    resp = client.get("/api/v1/operator/knowledge", query_string={"q": "社保卡丢了", "category": "没有这类"})
    assert resp.status_code == 422 and resp.get_json()["error"]["field"] == "category"
    assert "没有这类" in resp.get_json()["error"]["message"]
    assert client.get("/api/v1/operator/knowledge", query_string={"q": "社保卡丢了", "category": "劳动社保"}).status_code == 200


def test_a_units_published_reply_joins_the_base_masked_and_an_interim_one_does_not(app, client, rt, jobs):
    office = logged_in(app, "office")
    set_clock(app, 2026, 4, 27, 10)
    resp = office.post("/api/v1/reports", json={"title": "路灯不亮", "text": "江岸区中山大道888号路灯连续三天不亮。",
                                                "phone": "13800138001", "name": "王小明"})
    number = resp.get_json()["case"]["number"]
    jobs()
    lead = assignments(rt, number)["WH-LIGHT"].id
    office.post(f"/api/v1/assignments/{lead}/reply", json={"text": "已派人更换灯具（联系人王小明 13800138001）。",
                                                         "kind": "interim", "until": "2026-05-08T18:00:00+08:00"})
    found = client.get("/api/v1/operator/knowledge", query_string={"q": "路灯更换灯具"}).get_json()["answers"]
    assert found == []
    office.post(f"/api/v1/assignments/{lead}/reply", json={"text": "经现场核查，已更换灯具，王小明 13800138001 确认恢复照明。"})
    [hit] = client.get("/api/v1/operator/knowledge", query_string={"q": "路灯不亮更换灯具"}).get_json()["answers"]
    assert hit["source"] == "reply" and hit["case_number"] == number
    assert "13800138001" not in hit["text"] and "138****8001" in hit["text"]
    assert "王小明" not in hit["text"] and "王**" in hit["text"]


def test_an_answer_given_on_the_call_is_searchable_once(client, rt):
    client.post("/operator/", data=ASK)
    client.post("/operator/", data={**ASK, "ticket_no": "OP-00000000000000f2", "caller_number": "13900139002"})
    found = client.get("/api/v1/operator/knowledge", query_string={"q": "社保卡补办材料"}).get_json()["answers"]
    assert [a["text"] for a in found] == [ANSWER]  # the same words are kept once


def test_hotline_knowledge_reindex_adds_the_replies_published_before_the_base(app, client, rt, jobs, config):
    from click.testing import CliRunner
    from sqlalchemy import delete

    from gateway.cli import main
    from gateway.models import KnowledgeAnswer, KnowledgeGram
    from tests.conftest import subprocess_env

    office = logged_in(app, "office")
    number = office.post("/api/v1/reports", json={"title": "路灯不亮", "text": "江岸区中山大道888号路灯连续三天不亮。",
                                                  "phone": "13800138001"}).get_json()["case"]["number"]
    jobs()
    lead = assignments(rt, number)["WH-LIGHT"].id
    office.post(f"/api/v1/assignments/{lead}/reply", json={"text": "经现场核查，已更换灯具，路灯恢复照明。"})
    with Session(rt.engine) as session:  # as a database upgraded from a release without the base
        session.execute(delete(KnowledgeGram))
        session.execute(delete(KnowledgeAnswer))
        session.commit()
    assert client.get("/api/v1/operator/knowledge", query_string={"q": "路灯更换灯具"}).get_json()["answers"] == []
    result = CliRunner().invoke(main, ["knowledge", "reindex"], env=subprocess_env(config))
    assert result.exit_code == 0 and "added 1 replies" in result.output
    [hit] = client.get("/api/v1/operator/knowledge", query_string={"q": "路灯更换灯具"}).get_json()["answers"]
    assert hit["case_number"] == number
    assert "added 0 replies" in CliRunner().invoke(main, ["knowledge", "reindex"], env=subprocess_env(config)).output
