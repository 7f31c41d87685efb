"""Find where a report is about: district and street from a gazetteer, and the fine places it names.

The fine places (estates, roads, schools, markets ...) matter most for dedupe: the hardest
false merge is the same complaint template about a *different* estate, so two reports that
both name a specific place and name different ones must not merge.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from dataclasses import dataclass, field, replace
from typing import Any, Iterable, Mapping

from .text import PUNCT_MAP

# Kinds of fine place tokens. A site (estate, school, hospital, market ...), a road, a company, a project
# or construction site and a bus route are named entities: two different ones of a kind veto a merge.
# A building of an estate and a house number on a road only stop an automatic one (two neighbours in
# one estate may report one matter from different buildings; the office decides).
SITE, ROAD, HOUSE, BUILDING = "site", "road", "house", "building"
COMPANY, PROJECT, ROUTE = "company", "project", "route"
VETO_KINDS = (SITE, ROAD)
ENTITY_KINDS = (COMPANY, PROJECT, ROUTE)  # compared before sites and roads: another employer is another matter
SPECIFIC_KINDS = (*ENTITY_KINDS, *VETO_KINDS)

_SITE_SUFFIXES = (
    "小区", "花园", "家园", "公寓", "大厦", "广场", "社区", "新村", "山庄", "公馆", "华府", "名苑",
    "苑", "大楼", "商城", "中心", "宿舍", "村", "城",
    "职业技术学院", "职业技术学校", "学院", "学校", "大学", "中学", "小学", "幼儿园",
    "医院", "卫生院", "诊所", "市场", "公园", "商场", "超市", "车站", "地铁站", "酒店", "宾馆",
    "工厂", "派出所", "银行", "体育馆", "图书馆", "菜场", "园", "郡",
)  # fmt: skip
_COMPANY_SUFFIXES = (
    "有限责任公司", "股份有限公司", "有限公司", "分公司", "公司", "集团", "厂",
    # a firm named by its trade alone ("恒通达物流", "顺邦快递"): the trades whose names people shorten so
    "物流", "快递", "劳务", "置业", "地产", "培训机构", "培训学校", "培训班",
)  # fmt: skip
_TRADE_NOT_FOLLOWED_BY = ("专业", "行业", "企业", "园区", "员", "小哥", "车", "费", "单", "柜", "点", "站")
_PROJECT_SUFFIXES = ("项目工地", "项目部", "项目", "工地")
# Trade and legal words around a firm's own name: "武汉恒通达物流有限公司" is "恒通达".
_TRADE_WORDS = (
    "有限责任公司", "股份有限公司", "集团有限公司", "有限公司", "分公司", "公司", "集团", "厂", "培训机构", "培训学校",
    "培训班", "物流", "快递", "劳务", "置业", "地产", "房地产开发", "房地产", "开发", "建筑", "工程", "科技", "实业", "贸易",
    "商贸", "物业服务", "物业管理", "物业", "服务", "管理", "汽车零部件", "零部件", "汽车", "服装", "电子", "化工",
    "塑料", "食品", "餐饮", "网络", "信息", "技术", "投资", "发展", "文化", "传媒", "教育", "培训", "咨询", "装饰",
    "环保", "建材", "机械", "制造", "医药", "冷链", "运输", "家政", "保安", "清洁", "环境", "园林", "市政", "电器",
    "能源", "安装", "加工", "印刷", "包装", "纺织", "材料", "设备", "英语", "美术", "音乐", "舞蹈", "书法", "钢材",
    "公交", "自来水", "水务", "供电", "燃气", "电力", "地铁", "城投", "城建",
)  # fmt: skip
# A firm's "name" holding these is a phrase about firms, not one firm ("不同公司", "企业物流专业").
_NOT_A_FIRM = ("企业", "不同", "专业", "届", "多家", "几家", "这些", "那些", "各个", "所在", "我们", "他们", "你们", "所有")
_FIRM_PREFIXES = ("武汉市", "武汉", "湖北省", "湖北", "中国", "一家", "一个", "某某", "某", "这家", "那家", "该", "本")
_PROJECT_WORDS = ("项目工地", "项目部", "项目", "工地", "一期", "二期", "三期", "四期", "五期")
_ROUTE = re.compile(r"(?<![0-9A-Za-z])(?:(地铁|轨道交通)?(\d{1,3})号线|(电车)?(\d{1,4})路(?![口段]))")
_ROAD_SUFFIXES = ("大道", "大街", "路", "街", "巷")
_ADMIN_STREET_SUFFIXES = ("街道", "镇", "乡")

# Words that end a place name when scanning backwards from a suffix ("我住在X小区").
_BREAK_CHARS = "的在是我你他她了把被给对从到去来说为与及或但而就也又还要会能请让使并且有住将该本此这那其入回"
_BREAK_WORDS = ("来电人系", "来电人", "名为", "叫做", "叫", "举报", "咨询", "表扬", "一家", "一所", "一栋", "那栋", "这栋", "那家", "这家", "导致", "甚至", "整个", "附近", "门口", "对面", "旁边", "里面", "楼下", "周边", "位于", "关于", "反映", "投诉",
    "影响", "占据", "占用", "污染", "进入", "进出", "离开", "经过", "路过", "属于", "以及", "还有")
_ANY_BREAK_WORD = re.compile("|".join(re.escape(w) for w in _BREAK_WORDS))
# A name made only of these is not specific ("本小区", "我们小区", "附近的学校").
_GENERIC_CORES = {
    "", "们", "我们", "你们", "他们", "一个", "这个", "那个", "整个", "附近", "周边", "周围", "隔壁",
    "各个", "各", "居民", "老旧", "老", "新", "同一", "其他", "一些", "多个", "几个", "我家", "其中",
    "所在", "城市", "农村", "乡村", "全", "全市", "全区", "全县", "这所", "那所", "一所", "该所", "马",
    "道", "公", "小", "大", "高", "人行", "街", "主", "支", "干", "出", "进", "本",
    "普惠", "公办", "民办", "私立", "公立", "批发", "施工", "在建", "昨晚", "今晚", "今天", "昨天", "晚上", "半夜", "那个",
    "这个", "那边", "这边", "旁边", "楼下", "对面", "每天", "现在", "还是", "又在",
}  # fmt: skip
# Words ending in 街 or 路 that are not roads ("炸街", "跑路"), and sites' suffixes that start another word.
_NOT_ROADS = ("炸街", "逛街", "上街", "扫街", "沿街", "临街", "过街", "上路", "走路", "修路", "带路", "让路", "堵路", "绕路",
              "问路", "跑路", "出路", "退路", "思路", "一路", "半路")
_SITE_NOT_FOLLOWED_BY = {"市场": ("监管", "价格", "经济", "主体", "化"), "中心": ("城区",)}
# Characters after 路/街/道 that make it a common noun, not a road name ("路灯", "路面", "街头").
_ROAD_NOT_FOLLOWED_BY = "灯面费况线牌政由人口头边上下旁段"
# 城 ends names ("金地太阳城") but also starts common words ("城管", "城市", "城区").
_CITY_NOT_FOLLOWED_BY = "管市区乡镇建中里际墙乡"
_MIN_HEAD = {"城": 3, "村": 2, "园": 2, "郡": 2}

_MAX_NAME = 10
_SEGMENT = re.compile(r"[A-Za-z0-9\u3400-\u4dbf\u4e00-\u9fff]+")
_ANON_ADMIN = re.compile(r"(?<![A-Za-z0-9])([A-Za-z]\d{0,2})([省市区县])")
_ZH_DISTRICT_FALLBACK = re.compile(r"(?<=市)([\u4e00-\u9fff]{2,3}?)(区|县)(?=[\u4e00-\u9fff])")
_ZH_ADMIN_SPANS = re.compile(
    r"[\u4e00-\u9fff]{2,3}省|[\u4e00-\u9fff]{2,3}市(?=[\u4e00-\u9fff]{2,3}[区县])|(?<=市)[\u4e00-\u9fff]{2,3}?[区县](?=[\u4e00-\u9fff])"
)
_ZH_STREET_FALLBACK = re.compile(r"([\u4e00-\u9fff]{2,4}?)(街道|镇|乡)")
_BUILDING = re.compile(r"([A-Za-z]?\d{1,4}[A-Za-z]?)(栋|幢|号楼|单元)")
_HOUSE_NUMBER = re.compile(r"^(\d{1,5})(号)")
_EN_PLACE = re.compile(
    r"\b((?:[a-z0-9'-]+ ){1,3}?)"
    r"(street|st|avenue|ave|road|rd|boulevard|blvd|lane|ln|drive|dr|way|place|court|ct|highway|hwy|"
    r"park|school|hospital|market|square|plaza|tower|building|estate|station|library)\b\.?"
)
_EN_ROADS = {
    "street": "street", "st": "street", "avenue": "avenue", "ave": "avenue", "road": "road", "rd": "road",
    "boulevard": "boulevard", "blvd": "boulevard", "lane": "lane", "ln": "lane", "drive": "drive",
    "dr": "drive", "way": "way", "place": "place", "court": "court", "ct": "court", "highway": "highway",
    "hwy": "highway",
}  # fmt: skip
_EN_STOP = {
    "on", "at", "in", "the", "near", "of", "from", "to", "by", "my", "our", "a", "an", "and", "is", "are",
    "outside", "behind", "opposite", "along", "corner", "this", "that", "there", "into", "for", "with",
}  # fmt: skip


def canonical(text: str | None) -> str:
    """Return text in the form places are matched in: NFKC, plain punctuation, original case."""
    if not text:
        return ""
    return unicodedata.normalize("NFKC", str(text)).translate(PUNCT_MAP)


MIN_ADDRESS = 5  # characters: an address this long names a place, not only a road or a district


def address_key(address: str | None) -> str:
    """An address for comparison: NFKC, lower case, without spaces and punctuation."""
    return "".join(ch for ch in unicodedata.normalize("NFKC", address or "").lower() if ch.isalnum())


def same_address(one: str, other: str) -> bool:
    """Two ``address_key``s name one place: one is the other or ends it ("星城佳园b区" and
    "新洲区涨渡湖街道星城佳园b区"), and the shorter is long enough to name more than a road or a district."""
    shorter = min(one, other, key=len)
    return len(shorter) >= MIN_ADDRESS and (one.endswith(other) or other.endswith(one))


@dataclass(frozen=True)
class PlaceToken:
    name: str
    kind: str

    @property
    def core(self) -> str:
        """The name without its generic suffix ("魅力之城小区" -> "魅力之城", "恒通达物流有限公司" -> "恒通达")."""
        if self.kind in (COMPANY, PROJECT):
            return firm_core(self.name, self.kind)
        return _strip_suffix(self.name, self.kind)

    # Kept on the token (tokens are immutable; a candidate case's features stay decoded between decisions):
    # comparing places asks for these for every candidate.
    @functools.cached_property
    def core_lower(self) -> str:
        return self.core.lower()

    @functools.cached_property
    def name_lower(self) -> str:
        return self.name.lower()

    def to_dict(self) -> dict[str, str]:
        return {"name": self.name, "kind": self.kind}


@functools.lru_cache(maxsize=65536)
def _strip_suffix(name: str, kind: str) -> str:
    suffixes: Iterable[str]
    if kind == SITE:
        suffixes = _SITE_SUFFIXES
    elif kind == ROAD:
        suffixes = _ROAD_SUFFIXES + tuple(f" {v}" for v in set(_EN_ROADS.values()))
    else:
        return name
    for suffix in sorted(suffixes, key=len, reverse=True):  # cached per name: sorting is cheap enough
        if name.endswith(suffix) and len(name) > len(suffix):
            return name[: -len(suffix)]
    return name


@dataclass(frozen=True)
class Place:
    city: str | None = None
    district: str | None = None
    street: str | None = None
    tokens: tuple[PlaceToken, ...] = ()

    # The views below are kept on the place (it is immutable): a decision compares one report's place
    # with each candidate's, and a candidate's features stay decoded from one decision to the next.
    @functools.cached_property
    def specific(self) -> tuple[PlaceToken, ...]:
        """The named entities (sites, roads, companies, projects, routes): those that can veto and be keys."""
        return tuple(t for t in self.tokens if t.kind in SPECIFIC_KINDS)

    @functools.cached_property
    def _by_kind(self) -> dict[str, tuple[PlaceToken, ...]]:
        found: dict[str, list[PlaceToken]] = {}
        for token in self.tokens:
            found.setdefault(token.kind, []).append(token)
        return {kind: tuple(tokens) for kind, tokens in found.items()}

    def of_kind(self, kind: str) -> tuple[PlaceToken, ...]:
        """The tokens of one kind, in their order."""
        return self._by_kind.get(kind, ())

    @functools.cached_property
    def has_entity(self) -> bool:
        """Whether it names a company, a project or a bus route."""
        return any(kind in self._by_kind for kind in ENTITY_KINDS)

    @functools.cached_property
    def houses(self) -> frozenset[str]:
        """The house numbers it names ("解放大道1388号")."""
        return frozenset(t.name for t in self.of_kind(HOUSE))

    @functools.cached_property
    def only_specific(self) -> bool:
        """Whether every token is a named entity (no building, no house number)."""
        return all(t.kind in SPECIFIC_KINDS for t in self.tokens)

    def to_dict(self) -> dict[str, Any]:
        return {
            "city": self.city,
            "district": self.district,
            "street": self.street,
            "tokens": [t.to_dict() for t in self.tokens],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Place:
        return cls(
            city=data.get("city"),
            district=data.get("district"),
            street=data.get("street"),
            tokens=tuple(PlaceToken(t["name"], t["kind"]) for t in data.get("tokens", ())),
        )


@dataclass(frozen=True)
class PlaceComparison:
    """How two places relate: "match", "mismatch" or "unknown", with the evidence."""

    relation: str
    district: str  # "same", "different" or "unknown"
    matched: tuple[str, str] | None = None
    conflict: tuple[str, str] | None = None
    partial: bool = False  # one name is a short form inside the other ("经济学院" / "涉外经济学院")
    detail: tuple[str, str] | None = None  # the place matches, but its buildings or house numbers differ

    @property
    def veto(self) -> bool:
        return self.relation == "mismatch" or self.district == "different"


@dataclass
class Gazetteer:
    """Known territory names: districts (with aliases), their streets, and named landmarks/estates."""

    city: str | None = None
    districts: dict[str, str] = field(default_factory=dict)  # any alias -> canonical district
    streets: dict[str, tuple[str, str | None]] = field(default_factory=dict)  # alias -> (street, district)
    landmarks: dict[str, tuple[str, str | None]] = field(default_factory=dict)  # name -> (name, district)

    def __post_init__(self) -> None:
        self._district_re = _alternation(self.districts)
        self._street_re = _alternation(self.streets)
        self._landmark_re = _alternation(self.landmarks)

    @classmethod
    def from_profile(cls, territory: Mapping[str, Any]) -> Gazetteer:
        """Build from a city profile's territory block.

        ``{"city": "武汉市", "districts": [{"name": "江岸区", "aliases": ["江岸"], "streets": ["大智街道"],
        "landmarks": ["江滩公园"]}], "landmarks": ["黄鹤楼"]}``; streets and landmarks may also be
        ``{"name": ..., "aliases": [...]}``.
        """
        districts: dict[str, str] = {}
        streets: dict[str, tuple[str, str | None]] = {}
        landmarks: dict[str, tuple[str, str | None]] = {}
        for d in territory.get("districts", ()):
            name = canonical(d["name"]).strip()
            for alias in (name, *d.get("aliases", ())):
                districts[canonical(alias).strip()] = name
            for entry in d.get("streets", ()):
                _add_named(streets, entry, name, short=True)
            for entry in (*d.get("landmarks", ()), *d.get("estates", ())):
                _add_named(landmarks, entry, name)
        for entry in (*territory.get("landmarks", ()), *territory.get("estates", ())):
            _add_named(landmarks, entry, None)
        city = territory.get("city") or territory.get("name")
        return cls(city=canonical(city) if city else None, districts=districts, streets=streets, landmarks=landmarks)

    def district_of(self, value: str | None) -> str | None:
        """Return the canonical district for a name or alias, or the anonymized/plain form as given."""
        if not value:
            return None
        text = canonical(value).strip()
        if text in self.districts:
            return self.districts[text]
        found = self._find_district(text)
        return found or (text if text else None)

    def _find_district(self, text: str) -> str | None:
        if self._district_re is not None:
            m = self._district_re.search(text)
            if m:
                return self.districts[m.group()]
        for m in _ANON_ADMIN.finditer(text):
            if m.group(2) in "区县":
                return m.group(1).upper() + m.group(2)
        if self.districts:
            return None  # a known city: do not guess unknown Chinese district names
        m = _ZH_DISTRICT_FALLBACK.search(text)
        return m.group() if m else None

    def extract_place(self, text: str | None, address: str | None = None, district_hint: str | None = None) -> Place:
        """Return the city, district, street and fine place tokens a report names (address first)."""
        body = canonical(" ".join(x for x in (address, text) if x))
        district = self.district_of(district_hint) if district_hint else None
        street: str | None = None
        if self._street_re is not None:
            m = self._street_re.search(body)
            if m:
                street, street_district = self.streets[m.group()]
                district = district or street_district
        if street is None:
            m = _ZH_STREET_FALLBACK.search(body)
            if m and m.group(1)[-1] not in _BREAK_CHARS and m.group(1) not in _GENERIC_CORES:
                street = _trim_name(m.group())
        district = district or self._find_district(body)
        city = self.city
        for m in _ANON_ADMIN.finditer(body):
            if m.group(2) == "市":
                city = city or (m.group(1).upper() + "市")
                break
        tokens = _dedupe_tokens([*self._landmarks_in(body), *_fine_tokens(body, self)])
        return Place(city=city, district=district, street=street, tokens=tuple(tokens[:8]))

    def _landmarks_in(self, body: str) -> list[PlaceToken]:
        if self._landmark_re is None:
            return []
        return [PlaceToken(self.landmarks[m.group()][0], SITE) for m in self._landmark_re.finditer(body)]

    def admin_spans(self, body: str) -> list[tuple[int, int]]:
        spans = [m.span() for m in _ANON_ADMIN.finditer(body)]
        spans.extend(m.span() for m in _ZH_ADMIN_SPANS.finditer(body))
        for pattern in (self._district_re, self._street_re):
            if pattern is not None:
                spans.extend(m.span() for m in pattern.finditer(body))
        if self.city:
            start = body.find(self.city)
            while start >= 0:
                spans.append((start, start + len(self.city)))
                start = body.find(self.city, start + 1)
        return spans


def _add_named(target: dict[str, tuple[str, str | None]], entry: Any, district: str | None, short: bool = False) -> None:
    if isinstance(entry, str):
        name, aliases = entry, ()
    else:
        name, aliases = entry["name"], entry.get("aliases", ())
    name = canonical(name).strip()
    for alias in (name, *aliases):
        target[canonical(alias).strip()] = (name, district)
    if short:
        # People write "积玉桥万达公馆", not "积玉桥街道万达公馆": the street without its suffix, if distinctive.
        for suffix in _ADMIN_STREET_SUFFIXES:
            if name.endswith(suffix) and len(name) - len(suffix) >= 3:  # "和平" of 和平街道 would cut 和平大道
                target.setdefault(name[: -len(suffix)], (name, district))
                break


def _alternation(names: Mapping[str, Any]) -> re.Pattern[str] | None:
    if not names:
        return None
    ordered = sorted(names, key=len, reverse=True)
    return re.compile("|".join(re.escape(n) for n in ordered if n))


def _trim_name(name: str) -> str:
    # "市楚都职业技术学校" after "A8县": a stray admin character is not part of the name.
    while len(name) > 3 and name[0] in "省市区县":
        name = name[1:]
    return name


def _name_before(segment: str, start: int, end: int, suffix_len: int) -> str | None:
    """Take the name ending at ``end`` whose suffix starts at ``end - suffix_len``; None if generic."""
    head = segment[start : end - suffix_len]
    for i in range(len(head) - 1, -1, -1):
        # A break character right before the suffix's last name character is part of the name
        # ("龙湖江与城小区"), unless it is the last one ("我住在X小区" still cuts at "在").
        if head[i] in _BREAK_CHARS and (len(head) - i - 1 >= 2 or i == 0 or head[i - 1] in _BREAK_CHARS):
            head = head[i + 1 :]
            break
    if _ANY_BREAK_WORD.search(head):  # most names hold none: one search instead of a look for each word
        for word in _BREAK_WORDS:
            cut_at = head.rfind(word)
            if cut_at >= 0:
                head = head[cut_at + len(word) :]
    head = head[-_MAX_NAME:]
    suffix = segment[end - suffix_len : end]
    if "某" in head:
        return None  # "武汉某职业技术学院": a place the writer did not name
    if (head + suffix).endswith(_NOT_ROADS):
        return None
    if suffix == "路" and (head.endswith("马") or head[-1:].isdigit()):
        return None  # "过马路", "大马路": the common noun for a road; "520路", "电车1路": a bus route
    if len(head) < _MIN_HEAD.get(suffix, 0):
        return None
    if head in _GENERIC_CORES or (len(head) < 2 and not head.isascii()) or head.isdigit():
        return None
    return _trim_name(head + segment[end - suffix_len : end])


_SUFFIXES = sorted([(s, SITE) for s in _SITE_SUFFIXES] + [(s, ROAD) for s in _ROAD_SUFFIXES]
                   + [(s, COMPANY) for s in _COMPANY_SUFFIXES] + [(s, PROJECT) for s in _PROJECT_SUFFIXES],
                   key=lambda x: -len(x[0]))
_FIRM_SUFFIXES = _COMPANY_SUFFIXES + _PROJECT_SUFFIXES
# The suffixes by their first character, each list in ``_SUFFIXES``' order (longest first): a position the
# look-ahead below found is tried against these only, not against every suffix.
_SUFFIXES_AT: dict[str, list[tuple[str, str]]] = {}
for _suffix, _kind in _SUFFIXES:
    _SUFFIXES_AT.setdefault(_suffix[0], []).append((_suffix, _kind))
_FIRM_OR_SITE_SUFFIXES = _FIRM_SUFFIXES + _SITE_SUFFIXES
_SITE_OR_PROJECT_SUFFIXES = _SITE_SUFFIXES + _PROJECT_SUFFIXES


@functools.lru_cache(maxsize=65536)
def firm_core(name: str, kind: str = COMPANY) -> str:
    """A company's or a project's own name without trade, legal and phase words and a leading city
    ("武汉恒通达物流有限公司" -> "恒通达"); "" when nothing of its own is left ("一家服装厂", "物业公司")."""
    words = _TRADE_WORDS if kind == COMPANY else _PROJECT_WORDS + _TRADE_WORDS
    core = name
    for article in ("一家", "那家", "这家", "某", "的"):  # "街道口一家美术培训机构": the firm starts after the article
        if article in core:
            core = core[core.rindex(article) + len(article):]
    changed = True
    while changed and core:
        changed = False
        for word in _FIRM_PREFIXES:
            if core.startswith(word):
                core, changed = core[len(word):], True
        for word in words:
            if core.endswith(word):
                core, changed = core[: -len(word)], True
    if len(core) < 2 or core in _GENERIC_CORES or core in _SITE_SUFFIXES or any(word in core for word in _NOT_A_FIRM):
        return ""
    return core


def _firms_match(a: str, b: str) -> bool:
    """Two firm cores name one firm: equal, or the shorter (3+ characters) inside the longer."""
    short, long = sorted((a, b), key=len)
    return short == long or (len(short) >= 3 and short in long)
_ANY_SUFFIX = re.compile("(?=(?:" + "|".join(re.escape(s) for s, _ in _SUFFIXES) + "))")


def _fine_tokens(body: str, gazetteer: Gazetteer) -> list[PlaceToken]:
    tokens: list[PlaceToken] = []
    # Admin names (A5区, a known street) cut the text, so "A5区劳动东路" gives the road "劳动东路".
    cut = list(body)
    for s, e in gazetteer.admin_spans(body):
        for i in range(s, e):
            cut[i] = " "
    plain = "".join(cut)
    for seg_match in _SEGMENT.finditer(plain):
        seg = seg_match.group()
        start = 0
        i = 0
        for position in [m.start() for m in _ANY_SUFFIX.finditer(seg)]:
            if position < i:
                continue
            i = position
            hit = None
            for suffix, kind in _SUFFIXES_AT.get(seg[i], ()):
                if seg.startswith(suffix, i):
                    end = i + len(suffix)
                    if kind == ROAD:
                        if seg.startswith("街道", i):
                            break  # an administrative street, handled by the gazetteer
                        if end < len(seg) and seg[end] in _ROAD_NOT_FOLLOWED_BY:
                            continue
                        if seg.startswith(_SITE_SUFFIXES, end):
                            continue  # "楚河汉街公寓": the estate is named after the road

                    elif suffix == "城" and end < len(seg) and seg[end] in _CITY_NOT_FOLLOWED_BY:
                        continue
                    elif suffix in _SITE_NOT_FOLLOWED_BY and seg.startswith(_SITE_NOT_FOLLOWED_BY[suffix], end):
                        continue  # "市场监管部门"
                    elif kind in (COMPANY, PROJECT) and seg.startswith(_FIRM_OR_SITE_SUFFIXES, end):
                        continue  # "恒通达物流有限公司", "冷链物流园": the longer name
                    elif kind == COMPANY and seg.startswith(_TRADE_NOT_FOLLOWED_BY, end):
                        continue  # "物流专业", "快递员": the trade, not a firm
                    # "魅力之城小区": let the longer name win over "魅力之城" + "小区"; "格林东郡项目工地" is a project.
                    if kind == SITE and seg.startswith(_SITE_OR_PROJECT_SUFFIXES, end):
                        continue
                    hit = (suffix, kind, end)
                    break
            if hit is None:
                continue
            suffix, kind, end = hit
            name = _name_before(seg, start, end, len(suffix))
            if name is not None and kind in (COMPANY, PROJECT) and not firm_core(name, kind):
                name = None  # "一家服装厂", "物业公司": no name of its own
            if name is None:
                start = end  # "本小区临街": a generic name still ends the stretch
            else:
                tokens.append(PlaceToken(name, kind))
                number = _HOUSE_NUMBER.match(seg[end:])
                if kind == ROAD and number:
                    tokens.append(PlaceToken(name + number.group(), HOUSE))
                    end += number.end()
                start = end
            i = end
        for m in _BUILDING.finditer(seg):
            tokens.append(PlaceToken(m.group(), BUILDING))
        for m in _ROUTE.finditer(seg):
            tokens.append(PlaceToken(f"地铁{m.group(2)}号线" if m.group(2) else f"{m.group(4)}路", ROUTE))
    lowered = body.lower()
    for m in _EN_PLACE.finditer(lowered):
        words = [w for w in m.group(1).split() if w]
        stops = [i for i, w in enumerate(words) if w in _EN_STOP or w.isdigit()]
        if stops:
            words = words[stops[-1] + 1 :]  # "light on elm road" -> "elm road"
        if not words:
            continue
        kind_word = m.group(2)
        kind = ROAD if kind_word in _EN_ROADS else SITE
        name = " ".join(words) + " " + _EN_ROADS.get(kind_word, kind_word)
        tokens.append(PlaceToken(name, kind))
    return tokens


def _dedupe_tokens(tokens: list[PlaceToken]) -> list[PlaceToken]:
    seen: set[str] = set()
    out = []
    for t in tokens:
        if t.name not in seen:
            seen.add(t.name)
            out.append(t)
    return out


EMPTY_GAZETTEER = Gazetteer()


def extract_place(
    text: str | None,
    address: str | None = None,
    district_hint: str | None = None,
    gazetteer: Gazetteer | None = None,
) -> Place:
    """Return the place a report names, using ``gazetteer`` or only the generic patterns."""
    return (gazetteer or EMPTY_GAZETTEER).extract_place(text, address=address, district_hint=district_hint)


def _names_match(a: PlaceToken, b: PlaceToken) -> bool:
    return _names_match_cached(a.name, a.kind, b.name, b.kind)


@functools.lru_cache(maxsize=65536)
def _names_match_cached(a_name: str, a_kind: str, b_name: str, b_kind: str) -> bool:
    a, b = PlaceToken(a_name, a_kind), PlaceToken(b_name, b_kind)
    x, y = a_name.lower(), b_name.lower()
    if x == y:
        return True
    if a_kind in (COMPANY, PROJECT) or b_kind in (COMPANY, PROJECT):
        return _firms_match(a.core.lower(), b.core.lower())
    ca, cb = a.core.lower(), b.core.lower()
    # "魅力之城小区" ~ "万科魅力之城小区"; but "经济学院" (core "经济", a common word) is not
    # "财政经济学院": the shorter name must have a distinctive core of three or more characters.
    if (x in y and len(ca) >= 3) or (y in x and len(cb) >= 3):
        return True
    # "万科魅力之城" ~ "魅力之城小区"; a two-character core ("学院新村" -> "学院") is too common
    return (len(ca) >= 3 and ca in y) or (len(cb) >= 3 and cb in x)


def _contained(a: PlaceToken, b: PlaceToken) -> bool:
    x, y = a.name_lower, b.name_lower
    return x in y or y in x


def _mentioned(token: PlaceToken, text: str) -> bool:
    core = token.core_lower
    if token.kind in (COMPANY, PROJECT) and len(core) == 2:
        # "优学英语培训学校" is "优学" to its firm core; "优学英语的事" names it, "优学" alone might not
        return any(core + word in text for word in _TRADE_WORDS)
    return (len(core) >= 3 and core in text) or token.name_lower in text


def compare_places(a: Place, b: Place, a_text: str = "", b_text: str = "") -> PlaceComparison:
    """Compare two places: "match", "mismatch" (both name specific places and they differ) or "unknown".

    The first site (then road) a report names is its subject; later ones are often incidental
    ("unlike the estate next door ..."). Two reports match when their subjects agree, or when
    each one's subject appears among the other's places; a side without a site of that kind
    matches if the other's subject is mentioned in its (normalized) text.
    """
    if a.district and b.district:
        district = "same" if a.district.lower() == b.district.lower() else "different"
    else:
        district = "unknown"
    # A company, a project or a bus route: any shared one matches, two different ones veto.
    for kind in ENTITY_KINDS if a.has_entity or b.has_entity else ():
        left = a.of_kind(kind)
        right = b.of_kind(kind)
        if left and right:
            pair = next(((x, y) for x in left for y in right if _names_match(x, y)), None)
            if pair is None:
                return PlaceComparison("mismatch", district, conflict=(left[0].name, right[0].name))
            return _with_detail(PlaceComparison("match", district, matched=(pair[0].name, pair[1].name)), a, b)
        for mine, other_text in ((left, b_text), (right, a_text)):
            if mine and other_text and _mentioned(mine[0], other_text):
                return _with_detail(PlaceComparison("match", district, matched=(mine[0].name, mine[0].name)), a, b)
    # Sites decide before roads: two estates on one road are two places.
    for kind in VETO_KINDS:
        left = a.of_kind(kind)
        right = b.of_kind(kind)
        if left and right:
            x, y = left[0], right[0]
            if _names_match(x, y):
                return _with_detail(PlaceComparison("match", district, matched=(x.name, y.name)), a, b)
            x_there = next((t for t in right if _names_match(x, t)), None)
            y_here = next((t for t in left if _names_match(t, y)), None)
            if x_there is not None and y_here is not None:
                return _with_detail(PlaceComparison("match", district, matched=(x.name, x_there.name)), a, b)
            if _contained(x, y):
                # "经济学院" inside "涉外经济学院" and inside "财政经济学院": a short form, but of which one?
                # When the side with the short form also names the long one, that one; otherwise weak
                # evidence: no veto, a small weight (decide), the text must do the rest.
                if x_there is not None:
                    return PlaceComparison("match", district, matched=(x.name, x_there.name))
                if y_here is not None:
                    return PlaceComparison("match", district, matched=(y_here.name, y.name))
                road = _same_road(a, b) if kind == SITE else None
                if road is not None:  # "多福路那栋服装批发市场" / "多福路的批发市场": the road says which
                    return _with_detail(PlaceComparison("match", district, matched=road), a, b)
                return PlaceComparison("match", district, matched=(x.name, y.name), partial=True)
            return PlaceComparison("mismatch", district, conflict=(x.name, y.name))
        if left and b_text and _mentioned(left[0], b_text):
            return _with_detail(PlaceComparison("match", district, matched=(left[0].name, left[0].name)), a, b)
        if right and a_text and _mentioned(right[0], a_text):
            return _with_detail(PlaceComparison("match", district, matched=(right[0].name, right[0].name)), a, b)
    if a.street and b.street and a.street == b.street:
        return PlaceComparison("match", district, matched=(a.street, b.street))
    return PlaceComparison("unknown", district)


def _with_detail(found: PlaceComparison, a: Place, b: Place) -> PlaceComparison:
    """Mark a match whose two sides name different buildings (of the estate) or house numbers (on the road)."""
    if a.only_specific or b.only_specific:
        return found  # one side names no building or house number
    for kind in (BUILDING, HOUSE):
        left = {t.name for t in a.of_kind(kind)}
        right = {t.name for t in b.of_kind(kind)}
        if left and right and not left & right:
            return replace(found, detail=(min(left), min(right)))
    return found


def _same_road(a: Place, b: Place) -> tuple[str, str] | None:
    """The first road both name, if any."""
    right = b.of_kind(ROAD)
    for x in a.of_kind(ROAD):
        y = next((t for t in right if _names_match(x, t)), None)
        if y is not None:
            return x.name, y.name
    return None
