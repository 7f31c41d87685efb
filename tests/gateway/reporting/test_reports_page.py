"""The reports page: the five rates per department, cumulative replies, hot issues, SVG charts."""

from __future__ import annotations

import re
import sys
import threading
import time
from datetime import timedelta
from xml.etree import ElementTree

from sqlmodel import Session

from gateway.clock import utcnow
from gateway.models import FollowUp
from gateway.reporting.charts import bar_chart, line_chart
from tests.conftest import PATIENCE
from tests.kits.case_kit import add_assignment, add_case, merged_case


def ranking_rows(page: str) -> list[list[str]]:
    body = page.split('<table class="table ranking">', 1)[1].split("</table>", 1)[0]
    rows = re.findall(r"<tr><td>\d+</td>(.*?)</tr>", body, re.DOTALL)
    return [[re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", row, re.DOTALL)] for row in rows]


def test_rankings_show_the_five_rates_of_the_period_and_a_dash_without_follow_ups(rt, office_client):
    now = utcnow()
    with Session(rt.engine, expire_on_commit=False) as db:
        for i in range(4):  # the lighting office: 4 received, 3 first answers in time, 2 replies in time
            a = add_assignment(db, add_case(db, f"WH20260301-00020{i}"), "WH-LIGHT", due_in=timedelta(hours=-1),
                               ack_due_at=now - timedelta(hours=20))
            a.dispatched_at = now - timedelta(hours=30)
            if i < 3:
                a.signed_at = a.acknowledged_at = now - timedelta(hours=29)
                a.status = "signed"
            if i < 2:
                a.replied_at, a.status, a.reply_text = now - timedelta(hours=2), "replied", "已修复"
            db.add(a)
        late = add_assignment(db, add_case(db, "WH20260301-000210"), "WH-WATER", due_in=timedelta(hours=-5),
                              ack_due_at=now - timedelta(hours=6))
        late.signed_at = late.acknowledged_at = now  # signed after its 回告 was due
        late.status = "signed"
        db.add(late)
        add_assignment(db, add_case(db, "WH20260301-000211"), "WH-WATER", status="cancelled")
        db.commit()
    page = office_client.get("/console/reports").get_data(as_text=True)
    assert ranking_rows(page) == [
        ["武汉市城市照明管理处", "4", "75.0%", "50.0%", "—", "—", "0.0%"],
        ["武汉市水务集团", "1", "0.0%", "0.0%", "—", "—", "0.0%"],
    ]
    assert "累计回复 2 条" in page


def test_satisfaction_and_resolution_come_from_the_follow_ups_answered_in_the_period(rt, office_client):
    now = utcnow()
    with Session(rt.engine, expire_on_commit=False) as db:
        case = add_case(db, "WH20260301-000220")
        add_assignment(db, case, "WH-LIGHT")
        for n, (label, solved) in enumerate([("满意", True), ("基本满意", True), ("满意", False), ("不满意", False)]):
            db.add(FollowUp(case_id=case.id, contact_key=f"sms:{n}", channel="sms", status="answered",
                            ask_at=now - timedelta(hours=2), answered_at=now - timedelta(hours=1),
                            satisfaction=label, solved=solved))
        db.commit()
    row = ranking_rows(office_client.get("/console/reports").get_data(as_text=True))[0]
    assert row[0] == "武汉市城市照明管理处" and (row[4], row[5]) == ("50.0%", "75.0%")


def test_hot_issues_list_the_cases_with_the_most_reporters(rt, office_client):
    m = merged_case(rt)
    with Session(rt.engine) as db:
        add_case(db, "WH20260301-000230", title="两人反映", reporter_count=2)
        add_case(db, "WH20260301-000231", title="一人反映")
        db.commit()
    page = office_client.get("/console/reports").get_data(as_text=True)
    hot = re.findall(r'<tr class="hot"><td><a href="/console/cases/([^"]+)"', page)
    assert hot == [m.survivor.number, "WH20260301-000230"]


def test_the_volume_charts_are_inline_svg_with_one_line_per_channel(rt, office_client):
    merged_case(rt)
    page = office_client.get("/console/reports?days=7").get_data(as_text=True)
    svgs = re.findall(r'<svg class="chart".*?</svg>', page, re.DOTALL)
    assert len(svgs) == 3
    for svg in svgs:
        ElementTree.fromstring(svg)  # well-formed
    channel_chart = svgs[0]
    assert channel_chart.count("<polyline") == 4
    for label in ("网上留言", "12345热线", "短信", "电子邮件"):
        assert label in channel_chart
    assert "<script" not in page and "cdn" not in page.lower()


def test_the_bar_chart_scales_bars_to_the_largest_value_and_escapes_labels():
    svg = str(bar_chart([("路灯<照明>", 10), ("供水", 5)], title="t & t", width=600))
    widths = [float(w) for w in re.findall(r'<rect x="150" y="[\d.]+" width="([\d.]+)"', svg)]
    assert widths == [400.0, 200.0]  # 600 - 150 - 50 = 400 for the axis top (10)
    assert "路灯&lt;照明&gt;" in svg and "t &amp; t" in svg
    ElementTree.fromstring(svg)


def test_the_line_chart_puts_zero_at_the_bottom_and_the_top_value_at_the_top():
    svg = str(line_chart(["a", "b", "c"], {"web": [0, 5, 10]}, title="x", width=344, height=268))
    points = re.search(r'<polyline points="([^"]+)"', svg).group(1).split()
    assert points == ["44.0,216.0", "186.0,116.0", "328.0,16.0"]
    assert "暂无数据" in str(line_chart([], {}, title="empty"))


def computed_at(page: str) -> str:
    found = re.search(r"统计于 ([0-9-]+ [0-9:]+)", page)
    assert found, "the page says when its figures were computed"
    return found.group(1)


def test_the_figures_are_computed_once_in_their_window_for_every_node_and_the_page_says_when(rt, config, office_client):
    from gateway import create_app
    from tests.conftest import logged_in

    with Session(rt.engine) as db:
        add_case(db, "WH20260301-000240", title="先到的热点", reporter_count=2)
        db.commit()
    first = office_client.get("/console/reports").get_data(as_text=True)
    assert "先到的热点" in first
    with Session(rt.engine) as db:
        add_case(db, "WH20260301-000241", title="后到的热点", reporter_count=3)
        db.commit()
    other = create_app(config)  # a second web node: same database, same Redis
    with other.app_context():
        again = logged_in(other, "office").get("/console/reports").get_data(as_text=True)
    assert "后到的热点" not in again and computed_at(again) == computed_at(first)  # the kept figures, and when
    assert 0 < rt.broker.redis.ttl(f"{rt.settings.queue_prefix}-cache:reports:30:" +
                                   re.search(r"(\d{4}-\d{2}-\d{2}) 起 30 天", first).group(1)) <= 60
    # another range is computed on its own
    assert "后到的热点" in office_client.get("/console/reports?days=7").get_data(as_text=True)
    # 0 seconds: computed at every request
    fresh = create_app({**config, "REPORTS_CACHE_SECONDS": 0})
    with fresh.app_context():
        now = logged_in(fresh, "office").get("/console/reports").get_data(as_text=True)
    assert "后到的热点" in now and "秒内不重复计算" not in now


def test_without_redis_the_figures_are_computed_every_time():
    from bench.common import free_port
    from gateway.broker import Broker

    made: list[int] = []

    def make() -> str:
        made.append(1)
        return f"figures {len(made)}"

    down = Broker(f"redis://127.0.0.1:{free_port()}/0", "no-redis", job_timeout=10, retry_backoff=[])
    assert [down.remembered("reports:30", 60, make)[0] for _ in range(2)] == ["figures 1", "figures 2"]


def test_one_process_computes_the_figures_while_the_others_wait_for_them(rt):
    """A miss at a million cases costs seconds: the requests that arrive meanwhile read what the first one made."""
    made: list[str] = []
    computing, release = threading.Event(), threading.Event()

    def make() -> str:
        made.append(threading.current_thread().name)
        if len(made) == 1:  # the first maker holds on until the second request is waiting, or making too (wrong)
            computing.set()
            release.wait(PATIENCE)
        return f"figures by {made[-1]}"

    results: dict[str, str] = {}

    def read() -> None:
        results[threading.current_thread().name] = rt.broker.remembered("reports:single", 60, make)[0]

    def waiting_for_the_lock(thread: threading.Thread) -> bool:
        frame = sys._current_frames().get(thread.ident or 0)
        while frame is not None:
            if frame.f_code.co_name == "acquire" and "redis" in frame.f_code.co_filename:
                return True
            frame = frame.f_back
        return False

    first = threading.Thread(target=read, name="first")
    first.start()
    assert computing.wait(PATIENCE)  # the first request is computing
    second = threading.Thread(target=read, name="second")
    second.start()
    deadline = time.monotonic() + PATIENCE
    while not (waiting_for_the_lock(second) or len(made) > 1) and time.monotonic() < deadline:
        time.sleep(0.01)
    release.set()
    first.join()
    second.join()
    assert made == ["first"]
    assert results == {"first": "figures by first", "second": "figures by first"}
