"""No 500 from input (trust issue, 7): every reproduction answers a 4xx naming what is wrong, never a traceback."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import logged_in

HUGE = str(2**63)


def assert_clear_4xx(resp: Any, field: str | None = None) -> None:
    assert 400 <= resp.status_code < 500, (resp.status_code, resp.get_data(as_text=True)[:300])
    if resp.is_json and field is not None:
        assert resp.get_json()["error"].get("field") == field, resp.get_json()


@pytest.mark.parametrize("path", ["/api/v1/reports", "/api/v1/board/posts"])
def test_json_nested_a_hundred_thousand_deep_is_a_400(client, path):
    body = '{"text": ' + "[" * 100_000 + "]" * 100_000 + "}"
    resp = client.post(path, data=body, content_type="application/json")
    assert_clear_4xx(resp, "body")
    assert "deep" in resp.get_json()["error"]["message"]


def test_a_five_thousand_digit_integer_is_a_400(client):
    resp = client.post("/api/v1/reports", data='{"text": "路灯", "title": ' + "9" * 5000 + "}",
                       content_type="application/json")
    assert_clear_4xx(resp, "body")
    assert "digits" in resp.get_json()["error"]["message"]


@pytest.mark.parametrize("path", ["/api/v1/reports", "/api/v1/board/posts"])
def test_a_lone_surrogate_is_a_422_naming_the_field(client, path):
    resp = client.post(path, data='{"post_id": "S1", "text": "路灯\\ud800不亮"}', content_type="application/json")
    assert_clear_4xx(resp, "text")
    assert resp.status_code == 422


@pytest.mark.parametrize("path", ["/api/v1/cases?page=" + HUGE, "/api/v1/cases?per_page=" + HUGE])
def test_huge_page_numbers_are_a_4xx(app, path):
    office = logged_in(app, "office")
    assert_clear_4xx(office.get(path))


def test_huge_page_numbers_on_pages_show_the_last_page_not_a_500(app, client):
    assert client.get("/board/?page=" + HUGE).status_code == 200
    assert logged_in(app, "office").get("/console/?page=" + HUGE).status_code == 200


@pytest.mark.parametrize(("method", "path"), [
    ("post", f"/api/v1/assignments/{HUGE}/sign"),
    ("post", f"/api/v1/assignments/{'9' * 40}/reply"),
    ("post", f"/api/v1/extensions/{HUGE}/decide"),
    ("post", f"/api/v1/reports/{HUGE}/split"),
    ("post", f"/api/v1/merges/{HUGE}/accept"),
    ("post", f"/api/v1/merges/{HUGE}/undo"),
    ("get", f"/workbench/assignments/{HUGE}"),
])
def test_path_ids_beyond_64_bits_are_404(app, method, path):
    staff = logged_in(app, "office") if "workbench" not in path else logged_in(app, "department")
    resp = getattr(staff, method)(path, json={})
    assert resp.status_code == 404, (resp.status_code, resp.get_data(as_text=True)[:200])


def test_nul_bytes_in_searches_lookups_and_login_are_a_clear_4xx_or_no_match(app, client):
    assert_clear_4xx(client.get("/board/?q=a%00b"), "q")
    assert_clear_4xx(logged_in(app, "office").get("/console/?q=a%00b"), "q")
    page = client.get("/board/lookup").get_data(as_text=True)
    import re

    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
    resp = client.post("/board/lookup", data={"number": "WH\x00", "code": "ABC", "csrf_token": token})
    assert resp.status_code in (404, 422)
    login = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', login).group(1)  # type: ignore[union-attr]
    resp = client.post("/login", data={"username": "ad\x00min", "password": "x", "csrf_token": token})
    assert resp.status_code in (401, 422)


def test_path_ids_past_the_32_bit_keys_of_postgresql_are_404(app):
    office = logged_in(app, "office")
    assert office.post(f"/api/v1/assignments/{2**31}/sign").status_code == 404
    assert office.post(f"/api/v1/assignments/{2**31 - 1}/sign").status_code == 404  # reached the handler: not found
