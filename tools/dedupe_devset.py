"""Build tests/fixtures/dedupe_dev.jsonl from the hand-written matters in tools/dedupe_devset/*.txt.

Usage:  python tools/dedupe_devset.py [--check]     (--check: compare with the committed file, exit 1 if stale)

Every sentence is written by hand in the .txt files; this script only gives each line its id, kind, time
and the reporter's identities (phone, e-mail, board account) and writes JSON lines. The format of the .txt
files and the meaning of every kind: docs/labelling/dedupe.md.

A block starts with a header line and holds one line per report:

    # <group> <start>                         a matter (start: 2026-10-05 09:10, or @<group>+1d3h)
    # <group> <start> !place of=<group>      a hard negative: the same place as <group>, another problem
    # <group> <start> !wording of=<group>    a hard negative: <group>'s wording at another named place
    # <group> <start> !topic of=<group>      a hard negative: <group>'s district and kind of problem, elsewhere
    # <group> <start> ~                      an unrelated message
    <channel> <person> <offset> | [t:title |] [a:address |] [d:district |] text

<person> is a letter, one person per letter within a block, or <group>.<letter> for a person of another
block (the same citizen about another matter). <offset> is +0, +40m, +5h, +1d3h from the block's start.
Within a matter the first line is `original`, a later line by a person already seen is `follow_up`, any
other `duplicate`; every line of a hard-negative or unrelated block carries the block's kind.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import sys
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SOURCES = ROOT / "tools" / "dedupe_devset"
TARGET = ROOT / "tests" / "fixtures" / "dedupe_dev.jsonl"
CITY = timezone(timedelta(hours=8))
CHANNELS = {"board", "sms", "hotline", "email", "web"}
BLOCK_KINDS = {"!place": "hard_negative_place", "!wording": "hard_negative_wording",
               "!topic": "hard_negative_topic", "~": "unrelated"}
OFFSET = re.compile(r"^\+(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?$")
HEADER = re.compile(r"^#\s+(\S+)\s+(@\S+|\d{4}-\d\d-\d\d \d\d:\d\d)\s*(.*)$")


class DevsetError(ValueError):
    pass


@dataclass
class Block:
    group: str
    start: datetime
    kind: str | None  # None: a matter (original / duplicate / follow_up by line)
    of: str | None
    source: str
    lines: list[dict] = field(default_factory=list)


def _offset(text: str, where: str) -> timedelta:
    if text == "+0":
        return timedelta(0)
    m = OFFSET.match(text)
    if not m or text == "+":
        raise DevsetError(f"{where}: offset {text!r} (want +0, +40m, +5h, +1d3h)")
    d, h, mi = (int(x) if x else 0 for x in m.groups())
    return timedelta(days=d, hours=h, minutes=mi)


def _person(key: str) -> dict[str, str]:
    """Stable identities of one citizen, derived from the person's key (group.letter)."""
    digest = hashlib.sha256(key.encode()).hexdigest()
    number = int(digest[:8], 16) % 10**8
    prefix = ("139", "138", "137", "135", "186", "187", "150", "158", "177", "131")[int(digest[8], 16) % 10]
    handle = ("lin", "zhou", "wang", "chen", "hu", "xu", "liu", "zhang", "li", "huang", "he", "tan", "peng",
              "deng", "xiong", "yu")[int(digest[9], 16)]
    domain = ("qq.com", "163.com", "126.com", "sina.com", "outlook.com", "foxmail.com")[int(digest[10], 16) % 6]
    return {"phone": f"{prefix}{number:08d}", "email": f"{handle}{digest[11:15]}@{domain}",
            "user": f"wh{digest[15:21]}"}


def parse(paths: list[Path]) -> list[Block]:
    blocks: list[Block] = []
    pending: list[tuple[Block, str]] = []  # blocks whose start is relative to another block
    current: Block | None = None
    for path in paths:
        for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            where = f"{path.name}:{number}"
            line = raw.strip()
            if not line or line.startswith("//"):
                continue
            if line.startswith("#"):
                m = HEADER.match(line)
                if not m:
                    raise DevsetError(f"{where}: header {line!r}")
                group, start, rest = m.groups()
                words = rest.split()
                kind = next((BLOCK_KINDS[w] for w in words if w in BLOCK_KINDS), None)
                of = next((w[3:] for w in words if w.startswith("of=")), None)
                if kind and kind.startswith("hard_negative") and not of:
                    raise DevsetError(f"{where}: a hard negative names the matter it is close to (of=group)")
                current = Block(group, datetime.min, kind, of, where)
                if start.startswith("@"):
                    pending.append((current, start[1:]))
                else:
                    current.start = datetime.strptime(start, "%Y-%m-%d %H:%M").replace(tzinfo=CITY)
                blocks.append(current)
                continue
            if current is None:
                raise DevsetError(f"{where}: a report line before any header")
            head, *fields = [part.strip() for part in line.split(" | ")]
            parts = head.split()
            if len(parts) != 3 or not fields:
                raise DevsetError(f"{where}: want 'channel person offset | ... | text'")
            channel, person, offset = parts
            if channel not in CHANNELS:
                raise DevsetError(f"{where}: channel {channel!r}")
            entry: dict = {"channel": channel, "person": person, "offset": _offset(offset, where),
                           "text": fields[-1], "where": where}
            for extra in fields[:-1]:
                key, _, value = extra.partition(":")
                if key not in ("t", "a", "d") or not value:
                    raise DevsetError(f"{where}: field {extra!r} (t:title, a:address, d:district)")
                entry[{"t": "title", "a": "address", "d": "district"}[key]] = value
            current.lines.append(entry)
    by_group: dict[str, Block] = {}
    for block in blocks:
        if block.group in by_group:
            raise DevsetError(f"{block.source}: group {block.group} repeats")
        by_group[block.group] = block
    for block, ref in pending:
        name, _, off = ref.partition("+")
        if name not in by_group or by_group[name].start == datetime.min:
            raise DevsetError(f"{block.source}: start @{ref}: no block {name} with an absolute start")
        block.start = by_group[name].start + _offset("+" + off, block.source)
    for block in blocks:
        if block.of and block.of not in by_group:
            raise DevsetError(f"{block.source}: of={block.of} names no block")
        if not block.lines:
            raise DevsetError(f"{block.source}: block {block.group} has no reports")
    return blocks


def rows(blocks: list[Block]) -> list[dict]:
    out = []
    for block in blocks:
        seen: set[str] = set()
        for index, line in enumerate(block.lines, 1):
            key = line["person"] if "." in line["person"] else f"{block.group}.{line['person']}"
            ident = _person(key)
            if block.kind:
                kind = block.kind
            elif index == 1:
                kind = "original"
            else:
                kind = "follow_up" if key in seen else "duplicate"
            seen.add(key)
            row: dict = {"id": f"{block.group}-{index}", "group": block.group, "kind": kind,
                         "time": (block.start + line["offset"]).isoformat(), "channel": line["channel"]}
            if block.of:
                row["near"] = block.of
            row["person"] = key
            if line["channel"] in ("sms", "hotline"):
                row["phone"] = ident["phone"]
            elif line["channel"] == "email":
                row["email"] = ident["email"]
            else:  # board, web: the board's account, registered with a phone number
                row["user"] = ident["user"]
                row["phone"] = ident["phone"]
            for name in ("title", "address", "district"):
                if name in line:
                    row[name] = line[name]
            row["text"] = line["text"]
            out.append(row)
    _check_follow_ups(out)
    out.sort(key=lambda r: (r["time"], r["id"]))
    return out


def _check_follow_ups(out: list[dict]) -> None:
    """A follow-up must share an identity with an earlier report of its person, or nobody could link it."""
    known: dict[str, set[str]] = {}
    for row in sorted(out, key=lambda r: r["time"]):
        ids = {f"{k}:{row[k]}" for k in ("phone", "email", "user") if k in row}
        if row["kind"] == "follow_up" and not ids & known.get(row["person"], set()):
            raise DevsetError(f"{row['id']}: a follow-up on a channel that shares no identity with the earlier report")
        known.setdefault(row["person"], set()).update(ids)


def build() -> str:
    blocks = parse(sorted(SOURCES.glob("*.txt")))
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows(blocks))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 when the committed file differs")
    args = parser.parse_args(argv)
    try:
        text = build()
    except DevsetError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.check:
        same = TARGET.exists() and TARGET.read_text(encoding="utf-8") == text
        print("up to date" if same else f"{TARGET} is stale: run tools/dedupe_devset.py")
        return 0 if same else 1
    TARGET.write_text(text, encoding="utf-8")
    data = [json.loads(line) for line in text.splitlines()]
    kinds: dict[str, int] = {}
    for r in data:
        kinds[r["kind"]] = kinds.get(r["kind"], 0) + 1
    print(f"{len(data)} reports, {len({r['group'] for r in data})} groups -> {TARGET.relative_to(ROOT)}; {kinds}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
