"""Retention (trust issue): personal data of cases closed long ago is masked, statistics stay."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from click.testing import CliRunner
from sqlmodel import Session, func, select

from gateway.cli import main
from gateway.clock import utcnow
from gateway.models import AuditEntry, Case, Contact, Event, Identity, Report
from tests.conftest import logged_in, subprocess_env
from tests.kits.case_kit import add_case

PHONE, EMAIL = "+8613800138001", "zhang.san@example.com"


def old_and_new_cases(rt: object, data_dir: str) -> tuple[int, int, int]:
    """A case closed 400 days ago and an open one, both reported by 张三; another person's old closed case."""
    with Session(rt.engine, expire_on_commit=False) as db:  # type: ignore[attr-defined]
        zhang, li = Contact(name="张三"), Contact(name="李四")
        db.add_all([zhang, li])
        db.flush()
        db.add_all([Identity(contact_id=zhang.id, kind="phone", value=PHONE),
                    Identity(contact_id=li.id, kind="email", value=EMAIL)])
        long_ago = utcnow() - timedelta(days=400)
        old = add_case(db, "WH20251101-000001", summary="张三反映路灯坏了，电话13800138001", status="closed",
                       address="江岸区中山大道888号3栋", created_at=long_ago, closed_at=long_ago)
        other = add_case(db, "WH20251101-000002", summary="李四来信：噪音", status="closed", created_at=long_ago,
                         closed_at=long_ago, category="noise")
        open_ = add_case(db, "WH20261201-000003", summary="张三又反映路灯", status="dispatched")
        for case, contact, text in ((old, zhang, "我是张三，电话13800138001，住中山大道888号3栋"),
                                    (other, li, f"李四 {EMAIL}"), (open_, zhang, "张三：路灯又坏了")):
            db.add(Report(case_id=case.id, contact_id=contact.id, channel="web", text=text, name=contact.name,
                          phone=PHONE if contact is zhang else None, email=EMAIL if contact is li else None,
                          address="江岸区中山大道888号3栋", district="江岸区", raw=text.encode(),
                          attachments=[{"filename": "张三家门口.jpg", "content_type": "image/jpeg", "size": 3,
                                        "path": "attachments/PLACEHOLDER/01-x.jpg"}]))
        db.commit()
        report_id = db.exec(select(Report.id).where(Report.case_id == old.id)).one()
    folder = Path(data_dir) / "attachments" / str(report_id)
    folder.mkdir(parents=True)
    (folder / "01-x.jpg").write_bytes(b"jpg")
    return old.id, other.id, open_.id  # type: ignore[return-value]


def test_a_dry_run_changes_nothing_and_a_run_masks_old_closed_cases_keeping_the_statistics(app, rt, config):
    old, other, open_ = old_and_new_cases(rt, config["DATA_DIR"])
    env = subprocess_env(config)
    dry = CliRunner().invoke(main, ["retention", "--older-than", "365", "--dry-run"], env=env)
    assert dry.exit_code == 0 and "would mask 2 cases" in dry.output and "WH20251101-000001" in dry.output
    with Session(rt.engine) as db:
        assert "13800138001" in db.get(Case, old).summary

    office = logged_in(app, "office")

    def searched(q: str) -> str:
        return office.get("/console/", query_string={"q": q}).get_data(as_text=True)

    assert "WH20251101-000001" in searched("13800138001") and "WH20251101-000001" in searched("张三反映")
    done = CliRunner().invoke(main, ["retention", "--older-than", "365"], env=env)
    assert done.exit_code == 0, done.output
    # the console's search index follows the masking: the old case is no longer found by its number or name
    assert "WH20251101-000001" not in searched("13800138001") and "WH20261201-000003" in searched("13800138001")
    assert "WH20251101-000001" not in searched("张三反映")
    assert "masked 2 cases" in done.output and "1 attachments deleted" in done.output and "1 contacts forgotten" in done.output
    with Session(rt.engine) as db:
        case = db.get(Case, old)
        [report] = db.exec(select(Report).where(Report.case_id == old)).all()
        everything = " ".join(str(x) for x in (case.summary, case.address, report.text, report.name, report.phone,
                                               report.address, bytes(report.raw), report.attachments))
        for personal in ("13800138001", "张三", "888号3栋", "张三家门口"):
            assert personal not in everything, personal
        assert report.district == "江岸区" and case.category == "street_light" and case.status == "closed"
        assert db.exec(select(func.count()).select_from(Report)).one() == 3  # nothing deleted: the counts stay
        # 张三 still has an open case: still reachable; 李四 has none left: forgotten.
        assert db.exec(select(Identity.value).where(Identity.kind == "phone")).all() == [PHONE]
        assert db.exec(select(Identity).where(Identity.kind == "email")).all() == []
        open_report = db.exec(select(Report).where(Report.case_id == open_)).one()
        assert open_report.phone == PHONE and "张三" in open_report.text  # an open case is untouched
        assert len(db.exec(select(Event).where(Event.kind == "retention_masked")).all()) == 2
        [entry] = db.exec(select(AuditEntry).where(AuditEntry.action == "retention")).all()
        assert entry.actor == "cli" and entry.detail["reports"] == 2
    assert not (Path(config["DATA_DIR"]) / "attachments" / str(report.id)).exists()
    again = CliRunner().invoke(main, ["retention", "--older-than", "365"], env=env)
    assert "masked 0 cases" in again.output  # each case once


def test_retention_needs_a_period(config):
    result = CliRunner().invoke(main, ["retention"], env=subprocess_env(config))
    assert result.exit_code == 2 and "--older-than" in result.output
