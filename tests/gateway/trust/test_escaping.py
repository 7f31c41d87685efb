"""Markup typed by a citizen or an operator is shown as text on every HTML page, never run."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import logged_in
from tests.gateway.channels.test_operator import CALL

SCRIPT = "<script>alert('x')</script>"
ESCAPED = "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;"


@pytest.fixture
def client(app: Any) -> Any:
    """An operator's session (the operator pages and case reads are staff-only); CSRF token included in CALL."""
    return logged_in(app, "operator")


def test_a_script_in_a_reports_title_shows_escaped_on_the_operators_open_case_list(client):
    assert client.post("/api/v1/reports", json={"title": SCRIPT, "text": f"路灯不亮 {SCRIPT}",
                                                 "phone": CALL["caller_number"]}).status_code == 201
    page = client.post("/operator/", data={**CALL, "ticket_no": "OP-X", "action": "check"}).get_data(as_text=True)
    assert ESCAPED in page and SCRIPT not in page


def test_a_script_in_a_refused_board_form_is_shown_back_escaped(client):
    resp = client.post("/board/post", data={"csrf_token": CALL["csrf_token"], "post_id": "F1", "title": SCRIPT, "text": ""})
    page = resp.get_data(as_text=True)
    assert resp.status_code == 422 and ESCAPED in page and SCRIPT not in page


def test_a_script_in_an_operator_entry_is_echoed_escaped_on_the_answer_page(client):
    resp = client.post("/operator/", data={**CALL, "ticket_no": "OP-Y", "title": SCRIPT})
    assert resp.status_code == 201 and SCRIPT not in resp.get_data(as_text=True)


def test_board_html_is_sanitized_before_it_becomes_a_report(client, office_client):
    body = {"post_id": "H1", "text": f"<p>路灯<b>不亮</b></p>{SCRIPT}<img src=x onerror=alert(1)>"}
    number = client.post("/api/v1/board/posts", json=body).get_json()["case"]["number"]
    detail = office_client.get(f"/api/v1/cases/{number}").get_json()
    text = detail["reports"][0]["text"]
    assert "路灯不亮" in text.replace(" ", "")
    assert "<" not in text and "onerror" not in text
