"""Fast bulk preload of existing cases (executemany of core INSERTs, explicit ids), for every benchmark.

Rows go straight into contact, identity, case, report (and assignment for the supervision
benchmark): no ORM, no intake, so 100,000 cases load in seconds. The dedupe index is filled
in bulk with the running matcher's own feature and key functions (``dedupe_index``).
"""

from __future__ import annotations

import random
import secrets
import time
from datetime import timedelta
from typing import Any, Iterable, Iterator

from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from bench.corpus import Corpus
from gateway.clock import utcnow
from gateway.models import Assignment, Case, Contact, Department, Identity, Report

OPEN_MIX = (("dispatched", 0.45), ("in_progress", 0.2), ("replied", 0.05), ("closed", 0.3))
CHUNK = 5000


def _chunks(rows: Iterable[dict[str, Any]], size: int = CHUNK) -> Iterator[list[dict[str, Any]]]:
    batch: list[dict[str, Any]] = []
    for row in rows:
        batch.append(row)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def insert_many(conn: Any, table: Any, rows: list[dict[str, Any]]) -> None:
    """COPY (PostgreSQL) or executemany (SQLite) straight on the driver, with the column types' bind processors."""
    if not rows:
        return
    dialect = conn.dialect
    # Columns the rows leave out take the model's scalar default, so a new column does not break the bench.
    defaults = {c.name: c.default.arg for c in table.columns
                if c.name not in rows[0] and c.default is not None and c.default.is_scalar}
    if defaults:
        rows = [{**defaults, **row} for row in rows]
    columns = list(rows[0])
    processors = [table.c[c].type._cached_bind_processor(dialect) for c in columns]
    quote = dialect.identifier_preparer.quote
    params = [tuple(p(row[c]) if p else row[c] for c, p in zip(columns, processors)) for row in rows]
    if dialect.name == "postgresql":
        cursor = conn.connection.dbapi_connection.cursor()
        with cursor.copy(f"COPY {quote(table.name)} ({', '.join(quote(c) for c in columns)}) FROM STDIN") as copy:
            for values in params:
                copy.write_row(values)
        cursor.close()
        return
    mark = "?" if dialect.paramstyle == "qmark" else "%s"
    sql = (
        f"INSERT INTO {quote(table.name)} ({', '.join(quote(c) for c in columns)}) "
        f"VALUES ({', '.join([mark] * len(columns))})"
    )
    conn.exec_driver_sql(sql, params)


def _next_id(engine: Engine, model: Any) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.coalesce(func.max(model.__table__.c.id), 0))).scalar_one()) + 1


def _fix_sequences(engine: Engine, models: Iterable[Any]) -> None:
    """PostgreSQL: move each serial past the explicit ids we inserted, so the server's own inserts do not collide."""
    if engine.dialect.name != "postgresql":
        return
    with engine.begin() as conn:
        for model in models:
            name = model.__table__.name
            conn.exec_driver_sql(
                f"SELECT setval(pg_get_serial_sequence('\"{name}\"', 'id'), "
                f"(SELECT COALESCE(MAX(id), 1) FROM \"{name}\"))"
            )


def _status(rng: random.Random, mix: tuple[tuple[str, float], ...]) -> str:
    return rng.choices([s for s, _ in mix], [w for _, w in mix])[0]


def cases(
    engine: Engine, corpus: Corpus, n: int, *, status: str | None = None, days: float = 30, seed: int = 7
) -> dict[str, Any]:
    """Insert n cases (matters 0..n-1), each with one report by person k, a contact and a phone identity.

    status=None draws from OPEN_MIX (70 % open); "new" makes cases waiting for dispatch.
    Returns the id range and the seconds it took.
    """
    started = time.perf_counter()
    rng = random.Random(seed)
    now = utcnow()
    first_case, first_contact = _next_id(engine, Case), _next_id(engine, Contact)
    first_identity, first_report = _next_id(engine, Identity), _next_id(engine, Report)

    def rows() -> Iterator[tuple[dict[str, Any], dict[str, Any], dict[str, Any], dict[str, Any]]]:
        for i in range(n):
            k = first_case - 1 + i  # matter and person k: a second preload continues where the first stopped
            m = corpus.matter(k)
            variant = rng.randrange(3)
            text = m.text(variant)
            created = now - timedelta(seconds=rng.uniform(0, days * 86400))
            state = status or _status(rng, OPEN_MIX)
            case_id, contact_id = first_case + i, first_contact + i
            phone, name = "+86" + corpus.phone(k), corpus.name(k)
            contact = {"id": contact_id, "name": name, "created_at": created, "opted_out_sms": False}
            identity = {
                "id": first_identity + i,
                "contact_id": contact_id,
                "kind": "phone",
                "value": phone,
                "created_at": created,
            }
            case = {
                "id": case_id,
                "number": f"WH{created:%Y%m%d}-{case_id:06d}",
                "title": m.title(variant),
                "summary": text,
                "appeal_type": "投诉",
                "category": None if state == "new" else m.category,
                "district": m.district,
                "street": None if state == "new" else m.street,
                "address": m.address,
                "lat": None,
                "lon": None,
                "channel": "board",
                "status": state,
                "public": True,
                "urgency": None,
                "complexity": "normal",
                "reporter_count": 1,
                "report_count": 1,
                "created_at": created,
                "updated_at": created,
                "last_report_at": created,
                "due_at": None if state == "new" else created + timedelta(days=1),
                "closed_at": created + timedelta(hours=30) if state == "closed" else None,
                "merged_into_id": None,
                "routing": {},
            }
            report = {
                "id": first_report + i,
                "case_id": case_id,
                "contact_id": contact_id,
                "channel": "board",
                "external_id": f"PRE-{case_id}",
                "title": m.title(variant),
                "text": text,
                "received_at": created,
                "created_at": created,
                "name": name,
                "phone": phone,
                "email": None,
                "board_user": None,
                "address": m.address,
                "district": m.district,
                "lat": None,
                "lon": None,
                "category_hint": m.topic,
                "appeal_type": "投诉",
                "addressed_unit": None,
                "public": True,
                "retrieval_code": secrets.token_hex(3).upper(),
                "message_id": None,
                "link": "new",
                "decision": {},
                "attachments": [],
                "defects": [],
                "extra": {},
                "raw": text.encode(),
            }
            yield contact, identity, case, report

    tables = [Contact.__table__, Identity.__table__, Case.__table__, Report.__table__]  # type: ignore[attr-defined]
    buffers: list[list[dict[str, Any]]] = [[], [], [], []]
    with engine.begin() as conn:
        for parts in rows():
            for buffer, row in zip(buffers, parts):
                buffer.append(row)
            if len(buffers[0]) >= CHUNK:
                for table, buffer in zip(tables, buffers):
                    insert_many(conn, table, buffer)
                    buffer.clear()
        for table, buffer in zip(tables, buffers):
            if buffer:
                insert_many(conn, table, buffer)
    _fix_sequences(engine, (Contact, Identity, Case, Report))
    analyze(engine)
    return {
        "first_case_id": first_case,
        "last_case_id": first_case + n - 1,
        "count": n,
        "seconds": round(time.perf_counter() - started, 2),
    }


OPEN_ASSIGNMENT_MIX = (("dispatched", 0.4), ("signed", 0.35), ("overdue", 0.1), ("replied", 0.1), ("returned", 0.05))


def assignments(engine: Engine, first_case: int, n: int, *, spread_hours: float = 72, seed: int = 11) -> dict[str, Any]:
    """One assignment per case first_case..first_case+n-1, to a random department, due within +-spread_hours of now."""
    started = time.perf_counter()
    rng = random.Random(seed)
    now = utcnow()
    with engine.connect() as conn:
        departments = [row[0] for row in conn.execute(select(Department.__table__.c.id))]  # type: ignore[attr-defined]
    first_id = _next_id(engine, Assignment)

    def rows() -> Iterator[dict[str, Any]]:
        for k in range(n):
            due = now + timedelta(hours=rng.uniform(-spread_hours, spread_hours))
            state = _status(rng, OPEN_ASSIGNMENT_MIX)
            yield {
                "id": first_id + k,
                "case_id": first_case + k,
                "department_id": rng.choice(departments),
                "role": "lead",
                "status": state,
                "reason": {},
                "dispatched_at": due - timedelta(hours=24),
                "due_at": due,
                "signed_at": None,
                "replied_at": None,
                "returned_at": None,
                "return_reason": None,
                "reply_text": None,
                "delivered_at": None,
                "delivery_error": None,
                "supervision_level": rng.choice((0, 0, 0, 1, 2)),
            }

    with engine.begin() as conn:
        for batch in _chunks(rows()):
            insert_many(conn, Assignment.__table__, batch)  # type: ignore[attr-defined]
    _fix_sequences(engine, (Assignment,))
    analyze(engine)
    return {"count": n, "seconds": round(time.perf_counter() - started, 2)}


def analyze(engine: Engine) -> None:
    """Refresh planner statistics after a bulk load, as an operator would after an import. PostgreSQL: VACUUM
    (ANALYZE), which also marks the pages all-visible as autovacuum would soon after on a live database
    (without it a count reads the whole table instead of an index: 234 ms against 90 at a million cases)."""
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            names = conn.exec_driver_sql("SELECT quote_ident(table_name) FROM information_schema.tables WHERE "
                                         "table_schema = current_schema() AND table_type = 'BASE TABLE'").scalars().all()
            conn.exec_driver_sql(f"VACUUM (ANALYZE) {', '.join(names)}")  # this schema's tables, not the database's
        return
    with engine.begin() as conn:
        conn.exec_driver_sql("ANALYZE")


def dedupe_index(app: Any, first_case: int, last_case: int, batch: int = CHUNK) -> dict[str, Any]:
    """Fill the dedupe index of preloaded one-report cases in bulk: what intake's indexer stores for a
    new case (``record``: the report's features, compact, its index keys and their rows), computed with
    the running matcher's own ``extract``/``index_keys`` and written by COPY/executemany. The text part
    of the features is computed once per distinct text (the corpus repeats its texts); the person and
    time parts per report."""
    from dataclasses import replace

    from dedupe.features import contact_ids, key_id, parse_time
    from gateway.models import CaseFeatures, DedupeKey

    rt = app.extensions["hotline"]
    matcher = rt.matcher
    if matcher is None or rt.dedupe_index is None:
        return {"status": "absent: this code has no dedupe matcher wired in"}
    started = time.perf_counter()
    columns = (Report.case_id, Report.title, Report.text, Report.address, Report.district, Report.category_hint,
               Report.channel, Report.lat, Report.lon, Report.phone, Report.email, Report.board_user,
               Report.contact_id, Report.received_at)
    texts: dict[tuple, Any] = {}
    rows = 0
    for low in range(first_case, last_case + 1, batch):
        high = min(last_case, low + batch - 1)
        with rt.engine.begin() as conn:
            found = conn.execute(select(*columns).where(Report.case_id.between(low, high)).order_by(Report.id)).all()  # type: ignore[union-attr]
            features_rows, key_rows = [], []
            for r in found:
                report = r._asdict()
                text_key = tuple(report[k] for k in ("title", "text", "address", "district", "category_hint", "channel",
                                                      "lat", "lon"))
                if text_key not in texts:
                    texts[text_key] = matcher.extract({k: report[k] for k in report if k not in (
                        "phone", "email", "board_user", "contact_id", "received_at")})
                features = replace(texts[text_key], contacts=contact_ids(report), time=parse_time(report["received_at"]))
                keys = matcher.index_keys(features)
                features_rows.append({"case_id": report["case_id"], "features": features.to_dict(compact=True), "keys": keys})
                key_rows.extend({"key": k, "case_id": report["case_id"]} for k in sorted({key_id(k) for k in keys}))
            insert_many(conn, CaseFeatures.__table__, features_rows)  # type: ignore[attr-defined]
            insert_many(conn, DedupeKey.__table__, key_rows)  # type: ignore[attr-defined]
            rows += len(features_rows)
    return {"status": "filled in bulk with the matcher's extract/index_keys", "cases": rows,
            "distinct_texts": len(texts), "seconds": round(time.perf_counter() - started, 2)}
