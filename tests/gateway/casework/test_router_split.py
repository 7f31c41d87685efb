"""The router's held-out fifth: the same on every run, stratified, and reposts never on both sides."""

from __future__ import annotations

import random
from collections import Counter
from pathlib import Path

from gateway.casework.router_split import (
    FRACTION,
    NEAR_SAME,
    _shingles,
    digest,
    duplicate_groups,
    holdout_lines,
    holdout_split,
)

ROOT = Path(__file__).resolve().parents[3]
POOL = "的一是在不了有和人这中大为上个国我以要他时来用们生到作地于出就分对成会可主发年动同工也能下过子说产种面而方后多定行学法所民得经十三之进着等部度家电力里如水化高自二理起小物现实加量都两体制机当使点从业本去把性好应开它合还因由其些然前外天政四日那社义事平形相全表间样与关各重新线内数正心反你明看原又么利比或但质气第向道命此变条只没结解问意建月公无系军很情者最立代想已通并提直题党程展五果料象员革位入常文总次品式活设及管特件长求老头基资边流路级少图山统接知较将组见计别她手角期根论运农指几九区强放决西被干做必战先回则任取据处理府研"
CATEGORIES = {"城乡建设": 40, "劳动和社会保障": 35, "教育文体": 25, "交通运输": 12}


def made_up_rows() -> list[dict[str, str | None]]:
    """Random texts (no two alike), then reposts of some: the same words spaced, or lightly reworded."""
    rnd = random.Random(7)
    rows: list[dict[str, str | None]] = []
    for category, count in CATEGORIES.items():
        for _ in range(count):
            detail = "".join(rnd.choice(POOL) for _ in range(80))
            rows.append({"id": str(len(rows)), "title": "".join(rnd.choice(POOL) for _ in range(12)),
                         "detail": detail, "category": category})
    originals = list(rows)
    for n, row in enumerate(originals[::6]):
        detail = str(row["detail"])
        if n % 2:  # spacing, full-width digits and an export artefact: the same text
            copy = "尊敬的领导：" + detail[:40] + "_x000D_ " + detail[40:] + "１２"
            title = None
        else:  # a dozen characters changed: a near-same text
            chars = list(detail)
            for i in rnd.sample(range(len(chars)), 6):
                chars[i] = rnd.choice(POOL)
            copy, title = "".join(chars), row["title"]
        rows.append({"id": str(len(rows)), "title": title, "detail": copy, "category": row["category"]})
    return rows


def test_the_split_is_the_same_every_time_and_whatever_the_order_of_the_file() -> None:
    rows = made_up_rows()
    first = holdout_split(rows)
    assert holdout_split(rows) == first
    shuffled = rows[::-1]
    again = holdout_split(shuffled)
    assert holdout_lines(shuffled, again) == holdout_lines(rows, first)
    other_seed = holdout_split(rows, seed=1)
    assert holdout_lines(rows, other_seed) != holdout_lines(rows, first)


def test_each_category_keeps_a_fifth_out() -> None:
    rows = made_up_rows()
    split = holdout_split(rows)
    total = Counter(r["category"] for r in rows)
    held = Counter(rows[i]["category"] for i in split.holdout)
    assert set(held) == set(total)
    for category, n in total.items():
        # whole groups of at most two tickets are taken, so a category may run one ticket over
        assert round(FRACTION * n) <= held[category] <= round(FRACTION * n) + 1, category
    assert sorted(split.holdout + split.rest) == list(range(len(rows)))


def test_reposts_and_near_same_texts_fall_on_one_side() -> None:
    rows = made_up_rows()
    originals = sum(CATEGORIES.values())
    groups = duplicate_groups(rows)
    for n, copy in enumerate(range(originals, len(rows))):
        assert groups[copy] == groups[(n * 6)], rows[copy]["detail"]
    assert len(set(groups)) == originals  # no two different texts joined
    split = holdout_split(rows)
    held = set(split.holdout)
    for copy in range(originals, len(rows)):
        assert (copy in held) == (groups[copy] in {groups[i] for i in held})
        assert (copy in held) == ((groups.index(groups[copy])) in held)


def test_near_same_is_a_threshold_on_shared_five_character_pieces() -> None:
    base = "".join(POOL[i] for i in range(0, 120, 2))
    a = {"title": None, "detail": base, "category": "x"}
    changed = list(base)
    for i in range(5, 60, 6):
        changed[i] = "码"
    b = {"title": None, "detail": "".join(changed), "category": "x"}
    sa, sb = _shingles(base), _shingles("".join(changed))
    jaccard = len(sa & sb) / len(sa | sb)
    assert jaccard < NEAR_SAME  # every sixth character changed leaves too little in common
    assert duplicate_groups([a, b]) == [0, 1]
    assert duplicate_groups([a, dict(a, title="另一个标题")]) == [0, 0]


def test_digests_tell_apart_tickets_that_share_an_id() -> None:
    a = {"id": "75701", "title": "工资福利", "detail": "教师待遇", "category": "劳动和社会保障"}
    b = {"id": "75701", "title": "合同工社保", "detail": "养路工", "category": "劳动和社会保障"}
    assert digest(a) != digest(b)
    assert digest(a) == digest(dict(a, detail=" 教师 待遇 "))


def test_the_recorded_fifth_of_the_board_data_is_ids_and_digests_only() -> None:
    lines = [x for x in (ROOT / "docs" / "router_holdout.txt").read_text(encoding="utf-8").splitlines()
             if not x.startswith("#")]
    assert len(lines) == len(set(lines)) == 820  # a fifth of router_dev.jsonl's 4,098 tickets
    for line in lines:
        ident, fingerprint = line.split("\t")
        assert ident and len(fingerprint) == 10 and int(fingerprint, 16) >= 0
