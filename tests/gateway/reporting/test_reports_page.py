"""The reports page: the three rates per department, cumulative replies, hot issues, SVG charts."""

from __future__ import annotations

import re
from datetime import timedelta
from xml.etree import ElementTree

from sqlmodel import Session

from gateway.clock import utcnow
from gateway.reporting.charts import bar_chart, line_chart
from tests.kits.case_kit import add_assignment, add_case, merged_case


def ranking_rows(page: str) -> list[list[str]]:
    body = page.split('<table class="table ranking">', 1)[1].split("</table>", 1)[0]
    rows = re.findall(r"<tr><td>\d+</td>(.*?)</tr>", body, re.DOTALL)
    return [[re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", row, re.DOTALL)] for row in rows]


def test_rankings_compute_response_and_resolution_rates_and_show_a_dash_without_follow_ups(rt, office_client):
    now = utcnow()
    with Session(rt.engine, expire_on_commit=False) as db:
        for i in range(4):  # the lighting office: 4 received, 3 answered in time, 2 replied
            a = add_assignment(db, add_case(db, f"WH20260301-00020{i}"), "WH-LIGHT", due_in=timedelta(hours=-1))
            a.dispatched_at = now - timedelta(hours=30)
            if i < 3:
                a.signed_at = now - timedelta(hours=29)
                a.status = "signed"
            if i < 2:
                a.replied_at, a.status, a.reply_text = now - timedelta(hours=2), "replied", "已修复"
            db.add(a)
        late = add_assignment(db, add_case(db, "WH20260301-000210"), "WH-WATER", due_in=timedelta(hours=-5))
        late.signed_at = now  # signed after its due time
        late.status = "signed"
        db.add(late)
        add_assignment(db, add_case(db, "WH20260301-000211"), "WH-WATER", status="cancelled")
        db.commit()
    page = office_client.get("/console/reports").get_data(as_text=True)
    assert ranking_rows(page) == [
        ["武汉市城市照明管理处", "4", "3", "75.0%", "2", "50.0%", "—"],
        ["武汉市水务集团", "1", "0", "0.0%", "0", "0.0%", "—"],
    ]
    assert "累计回复 2 条" in page


def test_satisfaction_comes_from_the_follow_up_source_when_it_is_wired(rt, office_client):
    with Session(rt.engine, expire_on_commit=False) as db:
        a = add_assignment(db, add_case(db, "WH20260301-000220"), "WH-LIGHT")
        db.commit()
    rt.satisfaction_by_department = lambda db, since: {a.department_id: (3, 4)}
    page = office_client.get("/console/reports").get_data(as_text=True)
    assert ranking_rows(page)[0][-1] == "75.0%"


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
