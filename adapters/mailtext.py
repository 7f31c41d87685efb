"""Turn mail bodies into the text a citizen wrote: HTML to text, quoted replies and signatures cut."""

from __future__ import annotations

import re
import warnings

from bs4 import BeautifulSoup, MarkupResemblesLocatorWarning

_DROP_TAGS = ("script", "style", "noscript", "template", "head", "title", "xml")
_BLOCK_TAGS = (
    "p", "div", "tr", "li", "ul", "ol", "table", "blockquote", "pre", "section", "article",
    "h1", "h2", "h3", "h4", "h5", "h6", "hr", "dt", "dd", "address", "header", "footer",
)
_TAG = re.compile(r"<[^>]*>")
_BR = re.compile(r"<\s*br\s*/?\s*>", re.IGNORECASE)
_BLANKS = re.compile(r"\n{3,}")

# A line where the citizen's own text ends and a quoted message begins.
_CUT_LINES = [
    re.compile(r"^\s*-{2,}\s*(?:邮件原件|原始邮件|原邮件|Original\s+Message)\s*-{2,}\s*$", re.IGNORECASE),
    re.compile(r"^\s*(?:在|于).{0,120}写道\s*[:：]\s*$"),
    re.compile(r"^\s*On\s.{0,200}\bwrote\s*:\s*$", re.IGNORECASE),
    re.compile(r"^\s*_{20,}\s*$"),
]
# Outlook's header block of the quoted message: "From: ..." soon followed by "Sent: ...".
_OUTLOOK_FROM = re.compile(r"^\s*(?:From|发件人)\s*[:：]", re.IGNORECASE)
_OUTLOOK_NEXT = re.compile(r"^\s*(?:Sent|Date|发送时间|时间|日期|To|收件人)\s*[:：]", re.IGNORECASE)
_ON_START = re.compile(r"^\s*On\s.{0,200}$", re.IGNORECASE)
_WROTE_END = re.compile(r"^.{0,120}\bwrote\s*:\s*$", re.IGNORECASE)
_ATTRIBUTION = re.compile(r"^.{1,120}(?:\bwrote|写道)\s*[:：]\s*$", re.IGNORECASE)
_SIGNATURE = re.compile(r"^--\s?$")
_FOOTER = re.compile(
    r"^\s*(?:发自我的|来自我的|Sent\s+from\s+my\s|Sent\s+from\s+(?:Mail|Outlook|Yahoo)\b|Get\s+Outlook\s+for\s|"
    r"从我的.{0,20}发送|发自\s*(?:网易|QQ|手机|iPhone|iPad|华为|小米)|来自(?:网易|QQ|139|189|Foxmail).{0,12}(?:邮箱|客户端|大师))",
    re.IGNORECASE,
)


def html_to_text(html: str) -> str:
    """Return the visible text of an HTML body, keeping line breaks and dropping script and style."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", MarkupResemblesLocatorWarning)
            soup = BeautifulSoup(html, "html.parser")
        for tag in soup.find_all(_DROP_TAGS):
            tag.decompose()
        for tag in soup.find_all("br"):
            tag.replace_with("\n")
        for tag in soup.find_all(_BLOCK_TAGS):
            tag.insert_before("\n")
            tag.insert_after("\n")
        text = soup.get_text()
    except (AssertionError, ValueError, TypeError, LookupError, RecursionError):  # html.parser gives up on some broken markup: fall back to a crude strip
        text = _TAG.sub(" ", _BR.sub("\n", html))
    return tidy(text)


def tidy(text: str) -> str:
    """Normalize line ends, strip each line and squeeze runs of blank lines."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\xa0", " ").replace("\u200b", "")
    lines = [line.strip() for line in text.split("\n")]
    return _BLANKS.sub("\n\n", "\n".join(lines)).strip()


def _cut_index(lines: list[str]) -> int | None:
    """Return the index of the first line that starts a quote, signature or footer, or None."""
    for i, line in enumerate(lines):
        if any(p.match(line) for p in _CUT_LINES) or _SIGNATURE.match(line) or _FOOTER.match(line):
            return i
        if _OUTLOOK_FROM.match(line) and any(_OUTLOOK_NEXT.match(n) for n in lines[i + 1 : i + 3]):
            return i
        # "On Mon, 20 Nov 2026 at 10:00, Someone <a@b>\nwrote:" wrapped over two lines
        if _ON_START.match(line) and i + 1 < len(lines) and _WROTE_END.match(lines[i + 1]):
            return i
    return None


def strip_quoted(text: str) -> str:
    """Return only what the sender wrote: cut quoted replies, ">" lines, signatures and phone footers."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    cut = _cut_index(lines)
    if cut is not None:
        lines = lines[:cut]
    kept = []
    for i, line in enumerate(lines):
        if line.lstrip().startswith(">"):
            continue
        following = next((n for n in lines[i + 1 :] if n.strip()), "")
        if _ATTRIBUTION.match(line) and following.lstrip().startswith(">"):
            continue  # "Someone wrote:" above an interleaved quote
        kept.append(line)
    return tidy("\n".join(kept))
