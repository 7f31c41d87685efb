"""The operators' knowledge base (知识库): answers to search while the caller waits.

Two sources, one search: entries the office keeps on the console (`KnowledgeEntry`), and the replies citizens
received (a lead's 办结答复 or 解释说明 that passed review, or an operator's answer on the call), masked by
`gateway/trust/privacy.py` as every other view of a citizen's matter. Each becomes one `KnowledgeAnswer`; an
answer whose text is already in the base (the same words, normalized) is kept once.

The search is a character-bigram inverted index kept here (`KnowledgeGram`: a 32-bit id of each CJK bigram or
Latin word of the title and the first MAX_INDEX_CHARS of the text -> the answer), the same tables and SQL on
SQLite and PostgreSQL: FTS5 keeps a run of Chinese characters as one token (its trigram tokenizer finds no
two-character word), pg_trgm depends on the database's locale and an extension, PostgreSQL has no Chinese
text-search parser without one; and one implementation is measured once (docs/BENCHMARKS.md, "Knowledge base
search").

A query: its grams' posting lengths are counted up to COMMON (one statement); the RAREST grams' postings (the
newest COMMON of each) vote for answers, weighted by rarity; the best CANDIDATES are read and ranked by how much
of the query's weight their own grams cover (the title counting extra).
"""

from __future__ import annotations

import hashlib
import math
import re
from collections import defaultdict
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Iterable

from sqlalchemy import delete, insert
from sqlalchemy import text as sql
from sqlmodel import Session, col, select

from dedupe.text import normalize
from gateway.clock import utcnow
from gateway.models import Case, KnowledgeAnswer, KnowledgeEntry, KnowledgeGram, Reply
from gateway.trust.privacy import mask_text, reporter_names

MAX_INDEX_CHARS = 400  # of an answer's text: the title and the opening say what it answers
MAX_QUERY_CHARS = 300  # of what the operator typed
MAX_QUERY_GRAMS = 40
COMMON = 500  # a gram in more answers than this counts as common; its newest COMMON answers vote
RARE = 10  # grams whose postings vote
CANDIDATES = 40  # answers read and ranked
MIN_SCORE = 0.12  # share of the query's weight an answer must cover to be shown
LIMIT = 8
REPLY_KINDS = ("final", "explanation")  # 办结答复, 解释说明: answers to a matter (not interim, not a refusal)

_RUNS = re.compile("[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+|[0-9a-z]+")  # after normalize(): lower case


def terms(text: str | None, limit: int | None = None, fold: bool = True) -> list[str]:
    """The searchable units of a text, in order of first appearance: CJK bigrams (a lone CJK character itself)
    and Latin words or numbers of two or more characters. ``fold=False``: lower case only, without the full
    normalization (a stored title has no greetings or full-width words worth its time, forty times a search)."""
    flat = normalize(text) if fold else (text or "").lower()
    out: dict[str, None] = {}
    for match in _RUNS.finditer(flat[:limit] if limit else flat):
        run = match.group()
        if run[0] >= "\u3400":
            if len(run) == 1:
                out[run] = None
            for i in range(len(run) - 1):
                out[run[i:i + 2]] = None
        elif len(run) >= 2:
            out[run] = None
    return list(out)


@lru_cache(maxsize=1 << 16)  # the same bigrams come again and again
def gram_id(term: str) -> int:
    """A term's 32-bit id (signed, to fit an INTEGER column on every database), the same in every process."""
    return int.from_bytes(hashlib.blake2b(term.encode("utf-8"), digest_size=4).digest(), "little", signed=True)


def grams_of(title: str, text: str) -> set[int]:
    return {gram_id(t) for t in terms(f"{title}\n{text[:MAX_INDEX_CHARS]}")}


def digest(text: str) -> str:
    return hashlib.sha256(normalize(text).encode("utf-8")).hexdigest()[:32]


# -- keeping the base ----------------------------------------------------------------------------------------


def put(session: Session, source: str, source_id: int, title: str, text: str, *, category: str | None = None,
        case_number: str | None = None) -> KnowledgeAnswer:
    """Add or rewrite one answer and its index rows (in the caller's transaction)."""
    answer = session.exec(select(KnowledgeAnswer).where(KnowledgeAnswer.source == source,
                                                        KnowledgeAnswer.source_id == source_id)).first()
    if answer is None:
        answer = KnowledgeAnswer(source=source, source_id=source_id, digest="")
    else:
        _unindex(session, answer)
    answer.title, answer.text, answer.category, answer.case_number = title[:300], text, category, case_number
    answer.digest, answer.active, answer.updated_at = digest(text), True, utcnow()
    session.add(answer)
    session.flush()
    rows = [{"gram": g, "answer_id": answer.id} for g in grams_of(answer.title, answer.text)]
    if rows:
        session.execute(insert(KnowledgeGram), rows)
    return answer


def _unindex(session: Session, answer: KnowledgeAnswer) -> None:
    """Remove an answer's index rows, found by their primary key (the grams of its stored words)."""
    if answer.id is None or not answer.active:
        return
    session.execute(delete(KnowledgeGram).where(col(KnowledgeGram.gram).in_(grams_of(answer.title, answer.text)),
                                                col(KnowledgeGram.answer_id) == answer.id))


def retire(session: Session, source: str, source_id: int) -> None:
    """Take an answer out of the search (its row stays, inactive)."""
    answer = session.exec(select(KnowledgeAnswer).where(KnowledgeAnswer.source == source,
                                                        KnowledgeAnswer.source_id == source_id)).first()
    if answer is None:
        return
    _unindex(session, answer)
    answer.active, answer.updated_at = False, utcnow()
    session.add(answer)


def put_entry(session: Session, entry: KnowledgeEntry) -> None:
    """An office entry as the search sees it: active, or retired (out of the search)."""
    assert entry.id is not None
    if entry.status == "active":
        put(session, "entry", entry.id, entry.title, entry.text, category=entry.category)
    else:
        retire(session, "entry", entry.id)


def add_reply(session: Session, case: Case, reply: Reply) -> KnowledgeAnswer | None:
    """A reply citizens received, masked, unless it is no answer to a matter or its words are known already."""
    if reply.kind not in REPLY_KINDS or reply.role != "lead" or reply.status != "approved" or reply.id is None:
        return None
    masked = mask_text(reply.text, reporter_names(session, [case.id or 0]).get(case.id or 0, ()))
    if not masked.strip():
        return None
    known = session.exec(select(KnowledgeAnswer.id).where(KnowledgeAnswer.digest == digest(masked),
                                                          col(KnowledgeAnswer.active)).limit(1)).first()
    if known is not None:
        return None
    title = mask_text(case.title or "", reporter_names(session, [case.id or 0]).get(case.id or 0, ()))
    return put(session, "reply", reply.id, title, masked, category=case.category, case_number=case.number)


def reindex_replies(session: Session, batch: int = 500) -> int:
    """Add every published reply the base does not hold yet (after an upgrade); returns how many were added."""
    added = 0
    have = select(KnowledgeAnswer.source_id).where(KnowledgeAnswer.source == "reply")
    last = 0
    while True:
        rows = session.exec(select(Reply, Case).join(Case, col(Case.id) == Reply.case_id)
                            .where(col(Reply.id) > last, Reply.status == "approved", Reply.role == "lead",
                                   col(Reply.kind).in_(REPLY_KINDS), col(Reply.id).not_in(have))
                            .order_by(col(Reply.id)).limit(batch)).all()
        if not rows:
            return added
        for reply, case in rows:
            added += add_reply(session, case, reply) is not None
            last = reply.id or last
        session.commit()


# -- searching -----------------------------------------------------------------------------------------------


@dataclass
class Hit:
    answer: KnowledgeAnswer
    score: float

    def as_dict(self) -> dict[str, Any]:
        a = self.answer
        return {"id": a.id, "source": a.source, "source_id": a.source_id, "title": a.title, "text": a.text,
                "category": a.category, "case_number": a.case_number, "score": round(self.score, 3)}


def _arms(select_one: str, count: int) -> str:
    return " UNION ALL ".join(select_one.format(i=i) for i in range(count))


def _weights(session: Session, grams: list[int]) -> dict[int, float]:
    """Each gram's weight from its posting length, counted up to COMMON (rarer: heavier; absent: none)."""
    arm = ("SELECT :g{i} AS gram, (SELECT count(*) FROM (SELECT 1 FROM knowledgegram WHERE gram = :g{i} "
           "LIMIT :common) AS s{i}) AS n")
    params: dict[str, Any] = {f"g{i}": g for i, g in enumerate(grams)}
    params["common"] = COMMON
    rows = session.execute(sql(_arms(arm, len(grams))), params).all()
    return {gram: math.log(1 + 4 * COMMON / n) for gram, n in rows if n}


def _votes(session: Session, weights: dict[int, float]) -> list[int]:
    """The CANDIDATES answers holding the most weight of the RARE rarest grams (the newest COMMON answers of each),
    summed by the database."""
    rare = sorted(weights, key=lambda g: -weights[g])[:RARE]
    arm = ("SELECT answer_id, :w{i} AS w FROM (SELECT answer_id FROM knowledgegram WHERE gram = :g{i} "
           "ORDER BY answer_id DESC LIMIT :common) AS p{i}")
    params: dict[str, Any] = {f"g{i}": g for i, g in enumerate(rare)}
    params.update({f"w{i}": weights[g] for i, g in enumerate(rare)})
    params.update(common=COMMON, candidates=CANDIDATES)
    query = (f"SELECT answer_id FROM ({_arms(arm, len(rare))}) AS v GROUP BY answer_id "
             "ORDER BY SUM(w) DESC, answer_id DESC LIMIT :candidates")
    return [answer_id for (answer_id,) in session.execute(sql(query), params)]


def search(session: Session, query: str | None, limit: int = LIMIT, category: str | None = None) -> list[Hit]:
    """The answers that best cover what was typed, best first (category: those of it first)."""
    wanted = terms(query, MAX_QUERY_CHARS)[:MAX_QUERY_GRAMS]
    ids = list(dict.fromkeys(gram_id(t) for t in wanted))
    if not ids:
        return []
    weights = _weights(session, ids)
    best = _votes(session, weights) if weights else []
    if not best:
        return []
    held: dict[int, set[int]] = defaultdict(set)  # answer -> the query's grams it holds, from the index
    for gram, answer_id in session.exec(select(KnowledgeGram.gram, KnowledgeGram.answer_id).where(
            col(KnowledgeGram.gram).in_(list(weights)), col(KnowledgeGram.answer_id).in_(best))):
        held[answer_id].add(gram)
    total = sum(weights.values())
    hits = []
    for answer in session.exec(select(KnowledgeAnswer).where(col(KnowledgeAnswer.id).in_(best),
                                                             col(KnowledgeAnswer.active))).all():
        heading = {gram_id(t) for t in terms(answer.title, fold=False)}
        covered = sum(weights[g] for g in held[answer.id or 0])
        titled = sum(w for g, w in weights.items() if g in heading)
        score = (covered + 0.5 * titled) / total
        if score >= MIN_SCORE:
            hits.append(Hit(answer, score + (0.05 if category and answer.category == category else 0.0)))
    hits.sort(key=lambda h: (-h.score, h.answer.source != "entry", -(h.answer.id or 0)))
    return hits[:limit]


def entries(session: Session, status: str | None = None) -> Iterable[KnowledgeEntry]:
    where = [KnowledgeEntry.status == status] if status else []
    return session.exec(select(KnowledgeEntry).where(*where).order_by(col(KnowledgeEntry.id).desc())).all()
