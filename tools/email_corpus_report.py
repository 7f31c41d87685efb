"""Measure adapters.email.parse over a folder of real messages described by a manifest.csv.

Usage: python tools/email_corpus_report.py /path/to/data/email [--show-failures]

For every message the tool asks the stdlib (compat32 + policy.default, independently of the
adapter) whether it *has* a sender address, a subject and a body text, then checks whether the
adapter found each of them. Rates are "found / has", per manifest feature. Crashes (any exception
other than AdapterError, or an AdapterError wrapping another exception) are bugs and are counted.
"""

from __future__ import annotations

import argparse
import csv
import json
import re
import sys
import time
from collections import defaultdict
from email import message_from_bytes, policy
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from adapters.base import AdapterError, RawInbound
from adapters.email import parse

_ADDRESS = re.compile(rb"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")


def _has_fields(data: bytes) -> dict[str, bool]:
    """Ask the stdlib what the message has: a From address, a subject, some body text."""
    msg = message_from_bytes(data, policy=policy.compat32)
    sender = msg.get("From")
    subject = msg.get("Subject")
    has_text = False
    for part in msg.walk():
        disposition = str(part.get("Content-Disposition", "")).split(";", 1)[0].strip().lower()
        if part.get_content_maintype() == "text" and not part.is_multipart() and disposition != "attachment":
            payload = part.get_payload(decode=True)
            if isinstance(payload, bytes) and payload.strip():
                has_text = True
                break
    return {
        "sender": bool(sender and _ADDRESS.search(str(sender).encode("utf-8", "surrogateescape"))),
        "subject": bool(subject and str(subject).strip()),
        "text": has_text,
    }


def _readable(text: str) -> bool:
    """Tell whether text is non-empty and not mojibake (few replacement or control characters)."""
    stripped = text.strip()
    if not stripped:
        return False
    bad = sum(1 for ch in stripped if ch == "\ufffd" or (ord(ch) < 32 and ch not in "\n\t"))
    return bad / len(stripped) < 0.02


def _features(row: dict[str, str]) -> list[str]:
    """Return the manifest features a message belongs to, as "column=value" labels."""
    labels = ["ALL"]
    for column in ("declared_charsets", "encoded_word_charsets", "transfer_encodings"):
        for value in row[column].split():
            if len(value) <= 20:
                labels.append(f"{column.split('_')[0] if column != 'encoded_word_charsets' else 'ew'}:{value.lower()}")
    for column in ("html_only", "has_message_rfc822", "is_reply", "is_forward", "has_8bit_bytes"):
        if row[column] == "True":
            labels.append(column)
    if row["n_attachments"] not in ("", "0"):
        labels.append("has_attachments")
    if row["stdlib_defects"]:
        labels.append("stdlib_defects")
    labels.append(f"top:{row['top_content_type'][:24]}")
    return labels


def main(argv: list[str] | None = None) -> int:
    """Parse every message of the manifest, print a table and a final JSON line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--show-failures", action="store_true")
    parser.add_argument("--min-group", type=int, default=5, help="hide feature groups smaller than this")
    args = parser.parse_args(argv)
    rows = list(csv.DictReader((args.folder / "manifest.csv").open(encoding="utf-8")))
    stats: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    crashes: list[tuple[str, str]] = []
    rejected: list[tuple[str, str]] = []
    misses: list[tuple[str, str]] = []
    started = time.perf_counter()
    for row in rows:
        path = args.folder / row["source"] / row["path"]
        data = path.read_bytes()
        has = _has_fields(data)
        found = {"sender": False, "subject": False, "text": False}
        try:
            report = parse(RawInbound(channel="email", body=data))
            found = {
                "sender": bool(report.email),
                "subject": bool(report.title),
                "text": _readable(report.text) and "EmptyBody" not in report.defects,
            }
        except AdapterError as exc:
            if exc.__cause__ is not None:
                crashes.append((str(path), f"{type(exc.__cause__).__name__}: {exc.__cause__}"))
            else:
                rejected.append((str(path), exc.message))
        except Exception as exc:  # noqa: BLE001 - count any crash as a bug
            crashes.append((str(path), f"{type(exc).__name__}: {exc}"))
        for label in _features(row):
            group = stats[label]
            group["n"] += 1
            for key in ("sender", "subject", "text"):
                if has[key]:
                    group[f"has_{key}"] += 1
                    group[f"found_{key}"] += int(found[key])
        for key in ("sender", "subject", "text"):
            if has[key] and not found[key]:
                misses.append((key, str(path)))
    elapsed = time.perf_counter() - started

    def rate(group: dict[str, int], key: str) -> str:
        return f"{group[f'found_{key}'] / group[f'has_{key}']:.3f}" if group[f"has_{key}"] else "  -  "

    print(f"{'feature':<28} {'n':>4}  {'sender':>7} {'subject':>7} {'text':>7}")
    for label in sorted(stats, key=lambda k: (k != "ALL", k)):
        group = stats[label]
        if group["n"] < args.min_group and label != "ALL":
            continue
        print(f"{label:<28} {group['n']:>4}  {rate(group, 'sender'):>7} {rate(group, 'subject'):>7} {rate(group, 'text'):>7}")
    if args.show_failures:
        for path, why in crashes:
            print("CRASH", path, why)
        for path, why in rejected:
            print("REJECTED", path, why)
        for key, path in misses:
            print("MISS", key, path)
    total = stats["ALL"]
    summary: dict[str, Any] = {
        "messages": len(rows),
        "exceptions": len(crashes),
        "rejected": len(rejected),
        "sender_rate": round(total["found_sender"] / max(total["has_sender"], 1), 4),
        "subject_rate": round(total["found_subject"] / max(total["has_subject"], 1), 4),
        "text_rate": round(total["found_text"] / max(total["has_text"], 1), 4),
        "has": {k: total[f"has_{k}"] for k in ("sender", "subject", "text")},
        "seconds": round(elapsed, 2),
    }
    print(json.dumps(summary, ensure_ascii=False))
    return 1 if crashes else 0


if __name__ == "__main__":
    raise SystemExit(main())
