"""The public board: the HTML post form and the JSON endpoint, through the board adapter into intake."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from gateway.models import Report, Unparsed
from tests.kits.channel_kit import count, reports, unparsed

POST = {
    "post_id": "BD-20261120-0007",
    "unit": "江汉区人民政府",
    "topic": "路灯照明",
    "title": "常青花园三小区门口路灯长期不亮",
    "text": "<p>常青花园三小区东门外的三盏路灯已经一个多月不亮了。</p><script>alert('x')</script><p>请尽快维修。</p>",
    "address": "江汉区常青花园三小区东门",
    "name": "王小明",
    "phone": "138 0013 8000",
    "public": True,
}


def test_a_json_board_post_becomes_a_case_visible_in_the_api(client, rt, office_client):
    resp = client.post("/api/v1/board/posts", json=POST)
    assert resp.status_code == 201
    number = resp.get_json()["case"]["number"]
    detail = office_client.get(f"/api/v1/cases/{number}").get_json()
    assert detail["category"] == "street_light"
    [report] = detail["reports"]
    assert report["channel"] == "board" and report["external_id"] == "BD-20261120-0007"
    assert report["text"] == "常青花园三小区东门外的三盏路灯已经一个多月不亮了。\n请尽快维修。"
    assert "script removed" in report["defects"]
    [row] = reports(rt, "board")
    assert row.addressed_unit == "江汉区人民政府"
    assert b"<script>" in row.raw  # the raw payload is kept as received


def test_a_replayed_board_post_answers_200_with_the_same_case(client, rt):
    first = client.post("/api/v1/board/posts", json=POST)
    again = client.post("/api/v1/board/posts", json=POST)
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.get_json()["case"]["number"] == first.get_json()["case"]["number"]
    assert count(rt, Report) == 1


def test_a_form_encoded_post_to_the_json_endpoint_is_understood(client):
    resp = client.post("/api/v1/board/posts", data={"text": "汉阳区钟家村油烟扰民", "anonymous": "on", "name": "李四"})
    assert resp.status_code == 201
    assert resp.get_json()["report"]["text"] == "汉阳区钟家村油烟扰民"


@pytest.mark.parametrize("body, field", [
    ({"title": "没有内容"}, "text"),
    ({"text": ["列表"]}, "text"),
    ({"text": "<script>alert(1)</script>"}, "text"),
    ({"text": "正常内容", "public": "也许"}, "public"),
    ({"text": "正常内容", "time": "昨天"}, "time"),
    ({"text": "正常内容", "title": {"a": 1}}, "title"),
])
def test_a_malformed_board_post_is_422_naming_the_field_and_kept(client, rt, body, field):
    resp = client.post("/api/v1/board/posts", json=body)
    assert resp.status_code == 422
    assert resp.get_json()["error"]["field"] == field
    [kept] = unparsed(rt, "board")
    assert json.loads(kept.body) == body
    assert kept.error.startswith(f"{field}:")
    assert count(rt, Report) == 0


def test_a_body_that_is_not_json_is_422_and_kept(client, rt):
    resp = client.post("/api/v1/board/posts", data=b"{not json", content_type="application/json")
    assert resp.status_code == 422
    assert resp.get_json()["error"]["field"] == "body"
    assert unparsed(rt, "board")[0].body == b"{not json"


def csrf(client: Any) -> str:
    """The CSRF token the post form carries, as a browser would send it back."""
    page = client.get("/board/post").get_data(as_text=True)
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


def test_the_post_form_refuses_a_submission_without_its_csrf_token(client, rt):
    resp = client.post("/board/post", data={"post_id": "F2", "text": "路灯不亮"})
    assert resp.status_code == 400
    assert count(rt, Report) == 0


def test_the_post_form_renders_in_chinese_with_topics_and_a_fresh_post_id(client):
    page = client.get("/board/post").get_data(as_text=True)
    assert "我要留言" in page and "路灯照明" in page and "江汉区人民政府" in page
    ids = re.findall(r'name="post_id" value="(F[0-9a-f]{16})"', page)
    assert len(ids) == 1 and ids[0] not in client.get("/board/post").get_data(as_text=True)


def test_submitting_the_form_shows_the_case_number_and_resubmitting_does_not_duplicate(client, rt, office_client):
    form = {"post_id": "F0123456789abcdef", "topic": "市容环卫", "title": "垃圾站异味",
            "text": "小区垃圾站长期不清运，<b>夏天</b>异味很大。", "anonymous": "on", "public": "0", "name": "赵六"}
    resp = client.post("/board/post", data={**form, "csrf_token": csrf(client)})
    assert resp.status_code == 201
    page = resp.get_data(as_text=True)
    number = re.search(r'class="case-number">([^<]+)<', page).group(1)
    assert "您的留言已受理" in page
    again = client.post("/board/post", data={**form, "csrf_token": csrf(client)})
    assert again.status_code == 200 and number in again.get_data(as_text=True)
    assert office_client.get(f"/api/v1/cases/{number}").get_json()["reports"][0]["channel"] == "board"
    [row] = reports(rt, "board")
    assert row.name is None  # anonymous: the name is not stored
    assert row.public is False
    assert row.text == "小区垃圾站长期不清运，夏天异味很大。"


def test_a_form_without_text_is_shown_again_with_the_error_and_the_typed_values(client, rt):
    resp = client.post("/board/post", data={"csrf_token": csrf(client), "post_id": "F1", "title": "只有标题", "text": "  "})
    assert resp.status_code == 422
    page = resp.get_data(as_text=True)
    assert "提交失败" in page and "text" in page and 'value="只有标题"' in page
    assert count(rt, Unparsed) == 1 and count(rt, Report) == 0
