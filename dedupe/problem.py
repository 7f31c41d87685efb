"""What a report is about: its problem signature, the objects named and what is wrong with them.

Two reports about one place are one matter only when they are about one problem: a garage that leaks
and a roof terrace built over are two matters of one estate, and so are its street lights and its gas.
A signature is two small sets of kinds, ``objects`` (路灯, 车库, 电梯, 工资 ...) and ``faults`` (不亮,
渗水, 噪音, 拖欠 ...), found with a fixed lexicon in a normalized text. Two signatures are:

- ``same``: they share an object or a fault and neither side contradicts the other;
- ``conflict``: both name objects and share none, or both name faults and share none (the nuisances
  of one source, its noise and its fumes, count as one fault);
- ``unknown``: one of them names nothing the lexicon knows (a short "还是没人管").

A word followed by a place postposition (公交站旁边, 总站对面, 小区门口) says where, not what, and
does not count. The lexicon is the city's language, not its places: a profile's ``[dedupe.topics]`` stay a
separate, coarser evidence (``features.topics``).
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import Iterable

# kind -> words. Objects: the thing the report is about.
OBJECTS: dict[str, tuple[str, ...]] = {
    "light": ("路灯", "灯杆", "照明", "景观灯", "楼道灯", "声控灯", "灯不亮", "灯坏", "灯全坏"),
    "signal": ("信号灯", "红绿灯", "交通灯"),
    "manhole": ("井盖", "窨井", "下水道口", "雨水篦"),
    "pavement": ("路面", "地砖", "路砖", "坑洼", "坑槽", "大坑", "坑坑洼洼", "道路破损", "路基"),
    "stall": ("摆摊", "摊贩", "占道经营", "夜市", "地摊", "小摊", "卖菜", "卖鱼", "摊位", "占道"),
    "garage": ("车库", "地下室", "负一楼", "负二楼", "地下停车"),
    "roof": ("楼顶", "天台", "屋顶", "露台", "顶楼"),
    "shop": ("门面", "商铺", "底商", "餐馆", "饭店", "餐饮", "夜宵", "烧烤", "大排档", "门店", "小吃店", "火锅", "商业门面"),
    "construction": ("工地", "施工", "打桩", "渣土", "搅拌站", "拌和站", "混凝土"),
    "bus": ("公交", "公汽", "电车", "班次", "甩站", "不进站", "不停靠"),
    "bus_stop": ("公交站", "站台", "候车亭", "站牌", "总站"),
    "gas": ("燃气", "天然气", "煤气", "停气"),
    "water": ("自来水", "供水", "停水", "水压", "没水", "断水", "二次供水", "水质", "来水"),
    "power": ("停电", "断电", "供电", "电压", "跳闸"),
    "lift": ("电梯", "扶梯"),
    "garbage": ("垃圾", "清运", "垃圾站", "垃圾桶", "废品", "医疗垃圾", "医疗废物", "垃圾袋"),
    "wages": ("工资", "欠薪", "薪水", "工钱", "讨薪", "劳务费", "薪资"),
    "insurance": ("社保", "公积金", "医保", "养老保险"),
    "pyramid": ("传销",),
    "rental": ("群租", "隔断", "出租屋", "分租", "隔成"),
    "building": ("违建", "违章搭建", "私搭乱建", "加建", "搭建", "彩钢棚", "违章建筑"),
    "dog": ("狗", "犬", "遛狗"),
    "tree": ("树木", "行道树", "大树", "树枝", "绿化带", "绿化", "草坪"),
    "parking": ("停车", "乱停", "违停", "车位", "停放"),
    "fire_lane": ("消防通道", "消防栓", "消防隐患", "消防设施"),
    "school": ("教辅", "补课", "学位", "划片", "入学", "招生", "校服"),
    "canteen": ("食堂", "饭菜", "食品安全", "异物", "餐食"),
    "clinic": ("挂号", "黄牛", "急诊", "行医", "看病", "抽血"),
    "internship": ("实习", "实训", "打工", "进厂", "去工厂", "顶岗"),
    "renovation": ("装修",),
    "throwing": ("高空抛物",),
    "charging": ("充电", "飞线"),
    "pigeon": ("鸽子",),
    "fish": ("死鱼", "钓鱼"),
    "refund": ("退费", "退卡", "跑路", "不退", "退款", "退钱", "闭店", "关门了", "停业", "人去楼空"),
    "express": ("快递", "包裹", "快件"),
    "taxi": ("出租车", "黑车", "拒载", "网约车"),
    "bike": ("共享单车", "单车", "电动车乱停", "电动车停满"),
    "equipment": ("冷库", "外机", "机组", "冷却塔", "风机", "变压器", "空调"),
    "internet": ("宽带", "网络信号"),
    "venue": ("ktv", "网吧", "棋牌室", "麻将", "酒吧", "歌厅"),
    "toilet": ("厕所", "公厕"),
    "market": ("缺斤少两", "短秤"),
    "heating": ("供暖", "暖气"),
    "motor": ("炸街", "飙车", "摩托"),
    "sewage": ("化粪池", "下水道", "污水", "排污", "管道堵"),
    "elderly": ("养老", "老年食堂"),
    "boat": ("游船",),
    "flyer": ("传单", "办卡"),
    "animal_farm": ("养猪", "养殖"),
    "quarry": ("采石", "开采", "采砂"),
    "bridge": ("天桥", "桥面", "大桥"),
    "truck": ("渣土车", "货车", "大货车"),
}  # fmt: skip

# kind -> words. Faults: what is wrong.
FAULTS: dict[str, tuple[str, ...]] = {
    "dark": ("不亮", "没亮", "全黑", "黑漆漆", "一片漆黑", "熄灭", "灯坏", "照明不足", "白天亮"),
    "leak": ("渗水", "漏水", "滴水", "渗漏", "返潮", "发霉"),
    "flood": ("积水", "渍水", "内涝", "被淹", "淹了", "就淹", "倒灌"),
    "broken": ("破损", "损坏", "坏了", "故障", "塌", "松动", "缺失", "不见了", "撞坏", "停运", "困人", "倒伏", "停用",
               "坏掉", "丢了", "没了"),
    "noise": ("噪音", "噪声", "吵", "轰隆", "音响", "喇叭", "提示音", "叫了一晚", "狗叫", "轰到", "叫声", "嗡嗡", "声音好大", "喧哗", "大声",
              "声音很大", "睡不着"),
    "fumes": ("油烟", "排烟", "烟味", "冒烟", "熏"),
    "smell": ("臭", "异味", "气味", "刺鼻", "难闻", "化工味", "呛", "一股味", "味道", "废气"),
    "dust": ("扬尘", "粉尘", "灰尘", "尘土", "带泥", "撒漏"),
    "arrears": ("拖欠", "欠薪", "欠我们", "不发", "未发", "讨薪", "没发", "未缴", "欠了"),
    "charging": ("乱收费", "收费", "多收", "重复收费", "物业费", "费用", "涨价", "太贵", "收取", "额外收", "收了", "另收"),
    "occupation": ("占道", "占道经营", "占用", "摆满", "摆到", "堵死", "被占", "堆满", "堆放", "乱堆", "乱放", "乱扔"),
    "illegal_building": ("违建", "违章搭建", "私搭乱建", "加建", "搭彩钢棚", "圈成"),
    "night_work": ("夜间施工", "半夜施工", "深夜施工", "凌晨施工", "早间施工", "夜里施工", "半夜还在", "晚上施工"),
    "burning": ("焚烧", "烧垃圾", "焚烧垃圾", "烧东西"),
    "outage": ("停水", "没水", "断水", "停电", "断电", "停气", "没气", "不来水"),
    "quality": ("发黄", "浑浊", "异物", "变质", "变差", "不干净"),
    "unlicensed": ("无证", "非法", "违规开采", "无资质", "没有资质", "没资质", "黑车", "执业证"),
    "forced": ("强制", "强迫", "变相强制", "被迫", "不订", "必须"),
    "skip": ("甩站", "不进站", "不停", "开过去", "等了", "没来", "间隔太长", "太挤", "挤得", "延长运营"),
    "congestion": ("拥堵", "堵车", "堵得", "堵成", "排长队", "排队", "被堵", "堵了"),
    "loose_dog": ("不拴绳", "伤人", "咬伤", "咬人"),
    "fraud": ("传销", "诈骗", "跑路", "拉人"),
    "pollution": ("排放", "污染", "排污", "死鱼", "污水横流", "外溢"),
    "obstruction": ("受阻", "阻挠", "不同意"),
    "speeding": ("超速", "闯红灯", "飙车"),
}  # fmt: skip

# Objects that are the problem themselves: a flat divided for rent is the matter, whatever else is said of it.
PROBLEM_OBJECTS = frozenset({"rental", "pyramid", "building", "wages", "throwing", "charging", "pigeon", "quarry", "refund",
                             "internship", "flyer", "animal_farm", "motor", "insurance"})
# Faults that one source gives off together: a shop's fumes and its noise at night are one matter.
NUISANCES = frozenset({"noise", "fumes", "smell", "dust", "pollution"})
# Place postpositions: "公交站旁边的井盖", "总站对面", "小区门口": the word before says where, not what.
_WHERE = ("旁边", "旁", "门口", "附近", "对面", "边上", "那边", "周边", "隔壁", "后面", "前面", "里面", "外面", "一带")

SAME, CONFLICT, UNKNOWN = "same", "conflict", "unknown"


@dataclass(frozen=True)
class Signature:
    """The kinds of object and of fault a text names."""

    objects: frozenset[str] = frozenset()
    faults: frozenset[str] = frozenset()

    def __bool__(self) -> bool:
        return bool(self.objects or self.faults)

    def to_list(self) -> list[str]:
        """The stored form: "o:<kind>" and "f:<kind>", sorted."""
        return list(self._listed)

    @functools.cached_property
    def _listed(self) -> tuple[str, ...]:  # kept: a decision lists the new report's signature for every candidate
        return tuple(sorted([f"o:{k}" for k in self.objects] + [f"f:{k}" for k in self.faults]))

    @classmethod
    def from_list(cls, values: Iterable[str]) -> Signature:
        values = list(values)
        return cls(frozenset(v[2:] for v in values if v.startswith("o:")),
                   frozenset(v[2:] for v in values if v.startswith("f:")))

    def union(self, other: Signature) -> Signature:
        return Signature(self.objects | other.objects, self.faults | other.faults)


EMPTY = Signature()


@functools.lru_cache(maxsize=1)
def _lexicon() -> tuple[re.Pattern[str], dict[str, list[tuple[str, str]]]]:
    """One alternation of every word (longest first) and word -> [("o"|"f", kind)]."""
    meaning: dict[str, list[tuple[str, str]]] = {}
    for side, table in (("o", OBJECTS), ("f", FAULTS)):
        for kind, words in table.items():
            for word in words:
                meaning.setdefault(word, []).append((side, kind))
    ordered = sorted(meaning, key=len, reverse=True)
    pattern = re.compile("|".join(re.escape(w) for w in ordered) + "|(?:" + "|".join(_WHERE) + ")")
    return pattern, meaning


def signature(text: str) -> Signature:
    """The problem signature of a normalized text."""
    if not text:
        return EMPTY
    pattern, meaning = _lexicon()
    objects: set[str] = set()
    faults: set[str] = set()
    found = list(pattern.finditer(text))
    for i, m in enumerate(found):
        word = m.group()
        if word not in meaning:
            continue  # a postposition
        follower = found[i + 1] if i + 1 < len(found) else None
        where = (follower is not None and follower.group() in _WHERE and follower.group() not in meaning
                 and follower.start() - m.end() <= 1)
        for side, kind in meaning[word]:
            if side == "o":
                if not where:
                    objects.add(kind)
            else:
                faults.add(kind)
    return Signature(frozenset(objects), frozenset(faults))


def _faults_agree(a: Signature, b: Signature) -> bool:
    """Shared faults, or nuisances only on both sides (a shop's fumes, its noise at night) of anything but a
    construction site (whose noise at night and whose dust are two matters)."""
    if a.faults & b.faults:
        return True
    return (a.faults <= NUISANCES and b.faults <= NUISANCES
            and "construction" not in a.objects and "construction" not in b.objects)


def relation(a: Signature, b: Signature) -> str:
    """``same``, ``conflict`` or ``unknown`` (see the module's doc)."""
    if not a or not b:
        return UNKNOWN
    return _relation(a.objects, a.faults, b.objects, b.faults)


# Signatures are few and recur: a decision asks once or twice per candidate. Keyed by the four sets,
# whose hashes Python keeps, rather than by the signatures (a hash and a comparison in Python each).
@functools.lru_cache(maxsize=8192)
def _relation(a_objects: frozenset[str], a_faults: frozenset[str], b_objects: frozenset[str],
              b_faults: frozenset[str]) -> str:
    a, b = Signature(a_objects, a_faults), Signature(b_objects, b_faults)
    if a.objects & b.objects & PROBLEM_OBJECTS:
        return SAME
    objects = None if not (a.objects and b.objects) else bool(a.objects & b.objects)
    faults = None if not (a.faults and b.faults) else _faults_agree(a, b)
    if objects is False:
        return CONFLICT
    if faults is False:
        # The same object with other faults: "路灯不亮" / "路灯坏了" are one breakdown in other words; a bar's
        # noise and its litter may be one matter or two (unknown: no veto, but no automatic attachment
        # for other people either); with no object in common, two faults are two problems.
        if objects:
            return SAME if _soft_faults(a.faults, b.faults) else UNKNOWN
        return CONFLICT
    if objects or faults:
        return SAME
    return UNKNOWN


# Faults that describe one breakdown in other words ("坏了" and "不亮", "故障" and "停运").
_SOFT = frozenset({"broken", "dark", "outage", "leak", "flood", "skip", "congestion", "occupation"})


def _soft_faults(a: frozenset[str], b: frozenset[str]) -> bool:
    return bool(a & _SOFT) and bool(b & _SOFT)
