"""Normalize report text, cut it into shingles, compare it, and sign it for an LSH index.

Everything here is deterministic across processes and machines: no Python ``hash()``,
no global corpus. Similarity is computed pairwise; an IDF mapping may be passed in.
"""

from __future__ import annotations

import functools
import hashlib
import math
import re
import unicodedata
from typing import Iterable, Mapping, Protocol, Union, cast

# Characters NFKC leaves alone but that carry no meaning for comparison.
PUNCT_MAP = str.maketrans(
    {
        "。": ".",
        "．": ".",
        "、": ",",
        "，": ",",
        "；": ";",
        "：": ":",
        "？": "?",
        "！": "!",
        "“": '"',
        "”": '"',
        "„": '"',
        "‘": "'",
        "’": "'",
        "《": '"',
        "》": '"',
        "〈": '"',
        "〉": '"',
        "巜": '"',
        "「": '"',
        "」": '"',
        "『": '"',
        "』": '"',
        "【": "(",
        "】": ")",
        "〔": "(",
        "〕": ")",
        "—": "-",
        "–": "-",
        "～": "~",
        "…": ".",
        "·": " ",
        "・": " ",
    }
)

_REPEATED_PUNCT = re.compile(r"([.,;:?!~\-\"'()])\1+")
_WHITESPACE = re.compile(r"\s+")

# Greetings, thanks and pleas that every report carries; they make unrelated reports look alike.
_BOILERPLATE_ZH = re.compile(
    r"尊敬的[\u4e00-\u9fff]{0,6}?(?:领导|政府|市长|书记|局长|主任|同志|工作人员|部门)(?:们)?(?:[,:!.\s]*(?:您们?好|你们?好))?"
    r"|(?:各位)?(?:领导|市长|书记|局长|主任)(?:干部)?(?:们)?(?:大家)?[,:!.\s]*(?:您们?好|你们?好|好)"
    r"|您们?好|你们?好|大家好"
    # the operator's ticket phrasing: "市民来电反映:", "来电人系…业主", "反映:", "要求相关部门核实处理"
    r"|(?:市民|群众|居民|业主|网友)?(?:来电人?|致电)(?:系|称|再次|多次)?(?:反映|称|咨询|表扬|投诉|举报|求助|建议|要求)?:?"
    r"|(?:市民|群众|网友)(?:反映|投诉|举报)?:|(?:反映|诉求|诉求内容|问题描述|具体情况|来电内容):"
    r"|(?:要求|请求|希望|望|请)(?:相关|有关)?(?:职能)?部门(?:尽快|及时)?(?:核实|调查|介入)?(?:处理|解决|查处|整改|督促)?"
    r"|(?:麻烦|请|恳请|望|希望|要求)(?:相关部门|有关部门)?(?:尽快|尽早|及时|早日)(?:处理|解决|回复|落实|修复|维修)(?:一下)?"
    r"|其(?:居住|所在|工作|就读)的"
    r"|(?:非常|十分)?(?:谢谢|感谢)(?:您们?|你们?|领导|政府)?(?:的)?(?:关注|支持|帮助)?(?:了)?"
    r"|此致敬礼|此致"
)
_BOILERPLATE_EN = re.compile(
    r"\b(?:dear\s+(?:sir\s*(?:/|or)\s*madam|sir|madam|sirs|team|all)"
    r"|to\s+whom\s+it\s+may\s+concern"
    r"|(?:best\s+|kind\s+)?regards|sincerely|many\s+thanks|thanks(?:\s+a\s+lot)?|thank\s+you(?:\s+very\s+much)?"
    r"|please\s+(?:fix|deal\s+with|handle)\s+(?:it|this)\s+(?:asap|as\s+soon\s+as\s+possible|soon)"
    r")\b"
)
_GREETING_EN = re.compile(r"^(?:hi|hello|hey|good\s+(?:morning|afternoon|evening))\b[\s,!.:]*")

_CJK = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_TOKEN = re.compile(rf"[{_CJK}]+|[a-z0-9]+(?:'[a-z]+)?")
_IS_CJK = re.compile(rf"[{_CJK}]")

# Above this many characters a report's tail adds little to comparison but costs time.
MAX_SHINGLE_CHARS = 600


def normalize(text: str | None) -> str:
    """Return text in one canonical form: NFKC, half width, lower-case Latin, plain punctuation, no boilerplate."""
    if not text:
        return ""
    t = unicodedata.normalize("NFKC", str(text))
    t = t.translate(PUNCT_MAP).lower()
    t = _WHITESPACE.sub(" ", t).strip()
    t = _GREETING_EN.sub("", t)
    t = _BOILERPLATE_ZH.sub(" ", t)
    t = _BOILERPLATE_EN.sub(" ", t)
    t = _REPEATED_PUNCT.sub(r"\1", t)
    # Punctuation left stranded by a removed greeting ("局长: 你好," -> "局长: ,").
    t = re.sub(r"(?:^|(?<=[\s.,;:!?]))[\s.,;:!?]+", " ", t)
    return _WHITESPACE.sub(" ", t).strip(" .,;:!?")


def shingles(text: str | None, *, normalized: bool = False) -> set[str]:
    """Return character 2- and 3-grams of CJK runs and word 1- and 2-grams of Latin runs."""
    t = text or ""
    if not normalized:
        t = normalize(t)
    t = t[:MAX_SHINGLE_CHARS]
    out: set[str] = set()
    previous_word: str | None = None
    previous_end = 0
    for match in _TOKEN.finditer(t):
        run = match.group()
        if _IS_CJK.match(run):
            previous_word = None
            n = len(run)
            if n == 1:
                out.add(run)
                continue
            for i in range(n - 1):
                out.add(run[i : i + 2])
                if i + 3 <= n:
                    out.add(run[i : i + 3])
        else:
            out.add(run)
            # A Latin bigram only joins words separated by nothing but spaces.
            if previous_word is not None and t[previous_end:match.start()].strip() == "":
                out.add(previous_word + " " + run)
            previous_word = run
            previous_end = match.end()
    return out


class _HasShingles(Protocol):
    @property
    def shingles(self) -> frozenset[str]: ...


ShingleSource = Union[_HasShingles, Iterable[str]]


def _as_set(value: ShingleSource) -> frozenset[str] | set[str]:
    if isinstance(value, (set, frozenset)):
        return value
    inner = getattr(value, "shingles", None)
    if inner is not None:
        return inner if isinstance(inner, (set, frozenset)) else frozenset(inner)
    return frozenset(cast(Iterable[str], value))  # no shingles: the iterable half of ShingleSource


def similarity(a: ShingleSource, b: ShingleSource, idf: Mapping[str, float] | None = None) -> float:
    """Return the cosine of two shingle sets (binary, or IDF-weighted when a mapping is given).

    Accepts sets of shingles or anything with a ``shingles`` attribute (``Features``).
    Shingles missing from ``idf`` weigh the mapping's maximum, as if never seen.
    """
    sa, sb = _as_set(a), _as_set(b)
    if not sa or not sb:
        return 0.0
    if idf is None:
        common = len(sa & sb) if len(sa) <= len(sb) else len(sb & sa)
        return common / math.sqrt(len(sa) * len(sb))
    default = max(idf.values(), default=1.0)
    get = idf.get

    def norm(s: Iterable[str]) -> float:
        return math.sqrt(sum(get(x, default) ** 2 for x in s))

    dot = sum(get(x, default) ** 2 for x in (sa & sb))
    denominator = norm(sa) * norm(sb)
    return dot / denominator if denominator else 0.0


# MinHash values live below a 61-bit Mersenne prime; hashes come from blake2b, so a signature
# computed today in one worker equals the one computed next year in another.
_PRIME = (1 << 61) - 1
_MAX_HASH = _PRIME - 1


def stable_hash(value: str, seed: int = 0) -> int:
    """Return a 64-bit hash of a string that is identical in every process (blake2b)."""
    digest = hashlib.blake2b(value.encode("utf-8"), digest_size=8, salt=seed.to_bytes(16, "little")).digest()
    return int.from_bytes(digest, "little")


@functools.lru_cache(maxsize=1 << 15)
def _shingle_hash(value: str) -> int:
    """``stable_hash`` of a shingle, kept: the common two- and three-character shingles recur in most reports."""
    return stable_hash(value)


def minhash(items: Iterable[str], num_perm: int = 64) -> list[int]:
    """Return a MinHash signature of ``num_perm`` integers; an empty set gives all-max values.

    One-permutation hashing: each shingle is hashed once and falls into one of ``num_perm``
    bins, each bin keeps its minimum; empty bins borrow from the next non-empty bin to the
    right (rotation densification, with a per-distance offset). It estimates Jaccard like
    ``num_perm`` independent permutations at a ``num_perm``-th of the cost.
    """
    bins = [_MAX_HASH] * num_perm
    for s in set(items):
        h = _shingle_hash(s)
        b = h % num_perm
        v = (h // num_perm) % _PRIME
        if v < bins[b]:
            bins[b] = v
    if all(v == _MAX_HASH for v in bins):
        return bins
    out = list(bins)
    for b in range(num_perm):
        if bins[b] == _MAX_HASH:
            distance = 1
            while bins[(b + distance) % num_perm] == _MAX_HASH:
                distance += 1
            out[b] = (bins[(b + distance) % num_perm] + distance * _OFFSET) % _PRIME
    return out


_OFFSET = stable_hash("minhash-densify") % _PRIME


def band_keys(signature: list[int], bands: int = 16) -> list[str]:
    """Return one short key per LSH band, e.g. ``"b3:5f2a9c11"``; reports sharing a key are candidates."""
    if not signature or bands <= 0:
        return []
    rows = len(signature) // bands
    if rows == 0:
        raise ValueError(f"{len(signature)} values cannot fill {bands} bands")
    if len(set(signature)) == 1 and signature[0] == _MAX_HASH:
        return []  # nothing to sign: an empty text must not collide with every other empty text
    keys = []
    for band in range(bands):
        chunk = signature[band * rows : (band + 1) * rows]
        payload = b"".join(v.to_bytes(8, "little") for v in chunk)
        keys.append(f"b{band}:{hashlib.blake2b(payload, digest_size=4).hexdigest()}")
    return keys
