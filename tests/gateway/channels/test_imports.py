"""`hotline import board|hotline`: saved board pages and CSV exports through intake, bad items kept with their reason."""

from __future__ import annotations

import shutil
from pathlib import Path

from click.testing import CliRunner

from gateway.channels.bulk_import import import_board_pages, import_hotline_csv
from gateway.cli import main
from gateway.models import Report
from tests.adapters.fixturefiles import FIXTURES
from tests.conftest import subprocess_env
from tests.kits.channel_kit import count, reports, unparsed

PAGES = FIXTURES / "board_pages"
CSV = FIXTURES / "hotline"


def test_saved_detail_pages_become_board_reports_with_the_official_reply(client, rt, office_client):
    summary = import_board_pages(rt, PAGES)
    assert [Path(p).name for p, _ in summary.created] == ["detail_no_reply_gbk.html", "detail_with_reply.html"]
    assert [Path(p).name for p, _ in summary.skipped] == ["list_page.html", "list_page_items.html"]
    assert [(Path(p).name, why) for p, why in summary.errors] == [
        ("detail_missing_body.html", "body: no message content found on the page")]
    number = {Path(p).name: n for p, n in summary.created}["detail_with_reply.html"]
    detail = office_client.get(f"/api/v1/cases/{number}").get_json()
    assert detail["reports"][0]["external_id"] == "20261120015"
    assert detail["title"] == "武昌区中北路人行道地砖松动多处"
    row = next(r for r in reports(rt, "board") if r.external_id == "20261120015")
    assert row.extra["reply"]["unit"] == "武昌区城市管理执法局"
    assert row.raw == (PAGES / "detail_with_reply.html").read_bytes()
    gbk = next(r for r in reports(rt, "board") if r.external_id == "XJ2026112100042")
    assert "拒载" in gbk.text
    [kept] = unparsed(rt, "board")
    assert kept.body == (PAGES / "detail_missing_body.html").read_bytes()


def test_importing_the_same_pages_again_adds_nothing(rt):
    first = import_board_pages(rt, PAGES)
    again = import_board_pages(rt, PAGES)
    assert again.created == [] and sorted(again.replayed) == sorted(first.created)
    assert count(rt, Report) == 2


def test_a_page_without_a_post_id_is_keyed_by_its_content(rt, tmp_path):
    page = (PAGES / "detail_with_reply.html").read_text(encoding="utf-8")
    page = page.replace("<tr><th>留言编号：</th><td>20261120015</td></tr>", "").replace('<link rel="canonical"', '<link rel="x"')
    (tmp_path / "a.html").write_text(page, encoding="utf-8")
    shutil.copy(tmp_path / "a.html", tmp_path / "b.html")
    summary = import_board_pages(rt, tmp_path)
    assert len(summary.created) == 1 and len(summary.replayed) == 1
    [row] = reports(rt, "board")
    assert row.external_id.startswith("page-") and "no post id on the page; keyed by content" in row.defects


def test_a_csv_with_broken_rows_imports_the_good_ones_and_reports_each_bad_line(client, rt, office_client):
    summary = import_hotline_csv(rt, (CSV / "tickets_broken_rows.csv").read_bytes(), source="broken.csv")
    assert [where for where, _ in summary.created] == ["line 2", "line 8"]
    assert [(where, reason.split(":")[0]) for where, reason in summary.errors] == [
        ("line 3", "content"), ("line 4", "appeal_type"), ("line 6", "call_time"), ("line 7", "ticket_no")]
    kept = unparsed(rt, "hotline")
    assert [k.body.decode() for k in kept] == [
        "B-2,13800000002,2026-11-22 09:10:00,投诉,,江汉区",
        "B-3,13800000003,2026-11-22 09:20:00,骂人,态度恶劣。,江汉区",
        "B-4,13800000004,昨天下午,投诉,路面塌陷。,江汉区",
        ",13800000005,2026-11-22 09:40:00,投诉,无工单号。,江汉区",
    ]
    assert kept[0].error == "line 3: content: required"
    number = dict(summary.created)["line 8"]
    detail = office_client.get(f"/api/v1/cases/{number}").get_json()
    assert detail["reports"][0]["text"] == "举报某工地夜间\n偷排泥浆。"


def test_a_gbk_export_imports_like_the_utf8_one(rt):
    text = (CSV / "tickets_utf8.csv").read_text(encoding="utf-8")
    summary = import_hotline_csv(rt, text.encode("gb18030"), source="gbk.csv")
    assert len(summary.created) == text.count("\nWH-") and summary.errors == []
    assert reports(rt, "hotline")[0].name == "张先生"
    again = import_hotline_csv(rt, text.encode("utf-8-sig"), source="utf8.csv")
    assert again.created == [] and len(again.replayed) == len(summary.created)


def test_a_file_without_the_needed_columns_is_rejected_whole_and_kept(rt):
    summary = import_hotline_csv(rt, "姓名,电话\n张三,138\n".encode("gbk"), source="wrong.csv")
    assert summary.created == [] and summary.errors[0][1].startswith("header: missing column(s)")
    assert unparsed(rt, "hotline")[0].body == "姓名,电话\n张三,138\n".encode("gbk")


def test_the_import_commands_print_each_result_and_line(config, monkeypatch):
    for key, value in subprocess_env(config).items():
        monkeypatch.setenv(key, value)
    runner = CliRunner()
    result = runner.invoke(main, ["import", "hotline", str(CSV / "tickets_broken_rows.csv")])
    assert result.exit_code == 0, result.output
    assert "created  line 2 -> WH" in result.output
    assert "error    line 4: appeal_type" in result.output
    assert "2 created, 0 already known, 0 skipped, 4 rejected" in result.output
    result = runner.invoke(main, ["import", "board", str(PAGES)])
    assert result.exit_code == 0 and "2 created" in result.output and "list page with 3 posts" in result.output
    only_bad = runner.invoke(main, ["import", "board", str(PAGES / "detail_missing_body.html")])
    assert only_bad.exit_code == 1
