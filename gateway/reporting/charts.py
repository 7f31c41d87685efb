"""Tiny server-made SVG charts (bars and lines) for the reports page: no JavaScript, no CDN."""

from __future__ import annotations

import math
from typing import Mapping, Sequence

from markupsafe import Markup, escape

PALETTE = ("#2563eb", "#dc2626", "#16a34a", "#d97706", "#7c3aed", "#0891b2", "#db2777", "#4b5563")


def _nice_max(value: float) -> float:
    """Round the axis top up to 1, 2 or 5 times a power of ten."""
    if value <= 0:
        return 1
    power = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 5, 10):
        if value <= step * power:
            return step * power
    return 10 * power


def _fmt(value: float) -> str:
    return f"{value:g}"


def bar_chart(items: Sequence[tuple[str, float]], *, title: str, width: int = 560, bar_height: int = 22) -> Markup:
    """Horizontal bars, one per (label, value), with the value at the end of each bar."""
    left, right, top = 150, 50, 8
    height = top * 2 + max(1, len(items)) * (bar_height + 8)
    top_value = _nice_max(max((v for _, v in items), default=0))
    span = width - left - right
    parts = [f'<svg class="chart" viewBox="0 0 {width} {height}" width="100%" role="img" aria-label="{escape(title)}">',
             f"<title>{escape(title)}</title>"]
    if not items:
        parts.append(f'<text x="{width / 2}" y="{height / 2 + 4}" text-anchor="middle" class="muted">暂无数据</text>')
    for i, (label, value) in enumerate(items):
        y = top + i * (bar_height + 8)
        w = span * value / top_value
        parts.append(f'<text x="{left - 8}" y="{y + bar_height * 0.7}" text-anchor="end">{escape(label)}</text>')
        parts.append(f'<rect x="{left}" y="{y}" width="{w:.1f}" height="{bar_height}" rx="3" fill="{PALETTE[0]}"/>')
        parts.append(f'<text x="{left + w + 6:.1f}" y="{y + bar_height * 0.7}">{_fmt(value)}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


def line_chart(labels: Sequence[str], series: Mapping[str, Sequence[float]], *, title: str,
               width: int = 720, height: int = 260) -> Markup:
    """One line per series over the same x labels, with a y axis, gridlines and a legend."""
    left, right, top, bottom = 44, 16, 16, 52
    plot_w, plot_h = width - left - right, height - top - bottom
    # Counts: at least 0..4 on the axis, so that small numbers do not get fractional gridlines.
    top_value = max(4, _nice_max(max((v for values in series.values() for v in values), default=0)))
    n = len(labels)

    def x(i: int) -> float:
        return left + (plot_w * i / (n - 1) if n > 1 else plot_w / 2)

    def y(v: float) -> float:
        return top + plot_h * (1 - v / top_value)

    parts = [f'<svg class="chart" viewBox="0 0 {width} {height}" width="100%" role="img" aria-label="{escape(title)}">',
             f"<title>{escape(title)}</title>"]
    for k in range(5):
        value = top_value * k / 4
        parts.append(f'<line x1="{left}" x2="{width - right}" y1="{y(value):.1f}" y2="{y(value):.1f}" class="grid"/>')
        parts.append(f'<text x="{left - 6}" y="{y(value) + 4:.1f}" text-anchor="end" class="axis">{_fmt(value)}</text>')
    every = max(1, math.ceil(n / 10))
    for i, label in enumerate(labels):
        if i % every == 0 or i == n - 1:
            parts.append(f'<text x="{x(i):.1f}" y="{height - bottom + 16}" text-anchor="middle" class="axis">{escape(label)}</text>')
    for s, (name, values) in enumerate(series.items()):
        color = PALETTE[s % len(PALETTE)]
        points = " ".join(f"{x(i):.1f},{y(v):.1f}" for i, v in enumerate(values))
        parts.append(f'<polyline points="{points}" fill="none" stroke="{color}" stroke-width="2"/>')
        for i, v in enumerate(values):
            parts.append(f'<circle cx="{x(i):.1f}" cy="{y(v):.1f}" r="2.5" fill="{color}"><title>{escape(name)} {escape(labels[i])}: {_fmt(v)}</title></circle>')
        lx = left + s * 110
        parts.append(f'<rect x="{lx}" y="{height - 18}" width="12" height="12" rx="2" fill="{color}"/>')
        parts.append(f'<text x="{lx + 16}" y="{height - 8}">{escape(name)}</text>')
    if not series:
        parts.append(f'<text x="{width / 2}" y="{height / 2}" text-anchor="middle" class="muted">暂无数据</text>')
    parts.append("</svg>")
    return Markup("".join(parts))
