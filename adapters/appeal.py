"""Guess a report's appeal type (诉求类型) from its title and text, for the channels whose citizen does not say it.

A 12345 operator records one of seven types (``adapters.base.APPEAL_TYPES``); a board post, a web form, an SMS
or an e-mail arrives without one, and 咨询 changes the deadline (gateway/casework/sla.py). ``infer`` reads the
words a citizen uses for their ask and returns a ``Guess`` (type, confidence, the cues that decided) or None
when nothing in the text points anywhere ("no guess": the case keeps no type, as before).

How it decides, in short (the cue lists were fitted on the development posts of docs/labelling/appeal_types.md,
never on the 200 measured ones):

1. Words that *name* the ask weigh most: 投诉, 举报, 咨询/请问, 建议, 求助, 表扬 — three times as much in the
   title, where a board writer states what the post is.
2. Words of the matter weigh less: 扰民, 乱收费, 拖欠 (a complaint); 违建, 非法, 查处 (a report of wrongdoing);
   增设, 开通 (a proposal); 困难, 饮水 (a request for help); 政策, 手续, 怎么办理 (a question).
3. A negated name does not count and the type it denies loses: 「不是投诉，只是咨询」 is a question.
4. Questions: a genuine one (请问, 是否, 能否, 什么时候, 如何办理 …?) counts for 咨询; a rhetorical one
   (难道, 凭什么, 何在, 没人管吗) counts for 投诉 instead — a complaint phrased as a question is a complaint.
5. The highest score wins; ties go by ``PRECEDENCE``; 其他 is never guessed (it is what a person picks when
   nothing fits).

Pure: the standard library only (tests/test_purity.py).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Mapping

from adapters.base import APPEAL_TYPES

# Who wins a tie: the types whose ask is the most specific first.
PRECEDENCE = ("举报", "投诉", "咨询", "求助", "建议", "表扬")

TITLE_WEIGHT = 3.0  # a name of the ask or a question in the title counts this many times: writers state their ask there
TITLE_MATTER_WEIGHT = 1.5  # a word of the matter in the title: the title is short, but the matter is not the ask
MIN_SCORE = 2.0  # below this, no guess
MAX_CUE_HITS = 3  # one word repeated many times is still one cue (copy-pasted posts repeat whole paragraphs)


@dataclass(frozen=True)
class Guess:
    """An inferred appeal type: the type, how sure (0-1: its share of all the evidence) and the cues seen."""

    appeal_type: str
    confidence: float
    cues: tuple[str, ...]
    scores: tuple[tuple[str, float], ...] = ()


# Words that name the ask, and how much each weighs in the text (the title multiplies it).
NAMED: dict[str, tuple[tuple[str, float], ...]] = {
    "咨询": (
        (r"咨询", 2.0), (r"请问", 2.0), (r"想了解", 1.5), (r"想问", 1.0), (r"请教", 1.5), (r"问询|询问一下", 1.0),
        (r"(?:请|给予|给个|望)(?:领导)?(?:予以)?(?:解答|答复|告知|明确|解释)", 1.0),
    ),
    "投诉": ((r"投诉", 2.5), (r"维权", 1.0)),
    "举报": ((r"举报|检举|揭发", 3.0), (r"(?:请求|要求|恳请|望|请)[^，。,.!！?？]{0,12}(?:查处|严查|彻查|取缔|打击)", 2.0)),
    "建议": ((r"建议|提议|倡议|呼吁|谏言", 2.5), (r"(?<!不顾)(?:坚决|强烈)?反对", 0.5)),
    "求助": ((r"求助|求救|救救|帮帮|帮一帮|帮忙", 2.5),),
    # in a text, praise is often a courtesy inside another ask (「给他们点赞」 while asking for a road): it weighs
    # less there than in a title, where it is the post
    "表扬": ((r"表扬|点赞|致谢|感谢信|锦旗|赞扬|称赞|好人好事", 1.5),),
}

# Words of the matter: weaker evidence, each distinct cue counted once.
MATTER: dict[str, tuple[tuple[str, float], ...]] = {
    "投诉": (
        (r"扰民|噪音|噪声|油烟|吵", 1.0), (r"乱收|违规收费|无理收费|多收|强制收费|收取.{0,6}费", 1.0),
        (r"拖欠|欠薪|克扣|扣发|不发|工资", 1.0), (r"推诿|踢皮球|不作为|敷衍|态度(?:恶劣|差|生硬)|刁难|辱骂", 1.0),
        (r"欺诈|欺骗|忽悠|虚假宣传|违约|不履行|霸王条款", 1.0), (r"(?:延期|推迟|逾期|延迟)交房|不交房", 1.0),
        (r"退还|退款|不退|赔偿|补偿", 0.5), (r"侵害|侵犯|权益|损失", 0.5), (r"物业|开发商", 0.5),
        (r"强制|强行|被迫|不顾", 0.5), (r"不合理|不公平|不公", 0.5), (r"质疑|不文明", 0.5),
        (r"影响[^，。]{0,8}(?:生活|休息|睡眠|出行)|苦不堪言|忍无可忍", 1.0),
        (r"为民做主|为(?:我们)?老百姓做主|主持公道|讨个说法|给(?:我们)?(?:一个)?(?:合理的)?说法|责令", 1.0),
    ),
    "举报": (
        (r"违法|违纪|犯罪", 1.0), (r"非法", 1.0), (r"违建|违章建筑|违规(?:建设|修建|搭建)|私搭乱建|私建", 1.5),
        (r"无证|没有.{0,4}(?:证|资质)|资质", 1.0), (r"偷排|偷电|偷税|逃税|漏税|纳税", 1.5),
        (r"传销|赌博|黄赌毒|涉黑|保护伞|诈骗", 1.5), (r"套取|骗保|贪污|腐败|受贿|挪用|侵吞", 1.5),
        (r"涉嫌", 1.0), (r"占道经营|非法营运|黑车", 1.0), (r"查处|严查|彻查|取缔|打击", 1.0),
    ),
    "建议": (
        (r"(?<!违规)(?<!违法)(?<!私自)(?<!擅自)(?:增设|新建|开通|延伸|延长|设立|设置|修建|建一|安装|拓宽|加快)", 0.75),
        (r"希望[^，。,.!！?？]{0,10}(?:增设|开通|延伸|延长|建设|修建|规划|设立|设置|加大|加强|出台|取消|调整|完善|规范|考虑)", 1.5),
        (r"能否考虑|是否可以考虑|可否考虑|考虑一下|适当", 1.0), (r"规划|发展|提升|打造|规范", 0.5),
        (r"公交|线路|站点|车位|停车场|公园|厕所|路灯", 0.5),
    ),
    "求助": (
        (r"困难|贫困|无力|负担不起|承受不起|生活不能自理|瘫痪|患[^，。]{0,4}(?:癌|病)|重病|残疾", 1.0),
        (r"饮水|自来水|吃水|用水|喝水", 1.0), (r"硬化|修路|维修|修复|危房", 1.0),
        (r"无人管|没人管|无人问津", 0.5), (r"(?:请求|希望|恳请)[^，。,.!！?？]{0,8}解决", 1.0),
    ),
    "咨询": (
        (r"政策|规定|流程|手续|材料|条件|资格|标准", 0.5), (r"怎么办理|如何办理|如何申请|怎么申请|怎样办理|办理流程", 1.5),
        (r"能否|可否|是否", 0.5), (r"有没有|能不能|可不可以|可以吗|行不行", 0.5),
    ),
    "表扬": ((r"感谢|谢谢", 0.25),),
}

# How a title opens: 「希望…」 asks for a change, 「反映…」 usually brings a grievance. Titles only.
TITLE_OPENING: dict[str, tuple[tuple[str, float], ...]] = {
    "建议": (
        (r"^(?:真心|强烈)?(?:希望|盼望|期盼|期望)", 1.0),
        (r"^(?:请求|恳请|要求)[^，。,.!！?？]{0,12}(?:延伸|延长|开通|设置|安装|保护|恢复|增设|修建|建|迁|划分|规划|调整|取消|批准)", 1.0),
    ),
    "投诉": ((r"^(?:关于)?反映", 0.5),),
}

# A name the citizen denies: 「不是投诉」, 「并非举报」, 「无意投诉」.
NEGATED = re.compile(r"(?:不是|并非|并不是|不算|无意|不想|不为|不是要|并不想)(?:要|想)?(投诉|举报|求助|建议|咨询|表扬)")

# A question sentence: the text up to a question mark.
_QUESTION = re.compile(r"[^。！!？?\n]*[？?]")
_GENUINE = re.compile(
    r"请问|是否|能否|可否|能不能|可不可以|可以吗|有没有|什么时候|何时|如何|怎么(?:办|样|申请|处理|缴|交|报)|怎样|"
    r"哪些|哪个|哪里|哪天|多少|多久|几年|几点|几时|吗[？?]"
)
_RHETORICAL = re.compile(
    r"难道|凭什么|何在|天理|王法|谁来管|没人管|不管吗|良心|还有没有|岂|究竟是谁|合法性在哪|是不是.{0,8}(?:保护伞|后台|关系)|"
    r"(?:为什么|为何|怎么)[^？?]{0,30}(?:不|没|却|还|乱|竟)|(?:合规|合法|合理|公平|对)吗"
)


def infer(title: str | None, text: str | None, aliases: Mapping[str, str] | None = None) -> Guess | None:
    """The likely appeal type of a report, or None when its words point nowhere.

    ``aliases``: the city's own names of the types (``[city] appeal_aliases``, 谏言 -> 建议), counted as
    names of the ask like the seven themselves.
    """
    title = _clean(title)
    text = _clean(text)
    if not (title or text):
        return None
    scores = {kind: 0.0 for kind in PRECEDENCE}
    cues: dict[str, list[str]] = {kind: [] for kind in PRECEDENCE}
    denied = _denied(title, text)
    for part, weight, matter in ((title, TITLE_WEIGHT, TITLE_MATTER_WEIGHT), (text, 1.0, 1.0)):
        part = NEGATED.sub(" ", part)
        _named(part, weight, scores, cues, aliases)
        _words(MATTER, part, matter, scores, cues)
        _questions(part, weight, scores, cues)
    _words(TITLE_OPENING, title, TITLE_WEIGHT, scores, cues)
    for kind in denied:  # the citizen said what this is not
        scores[kind] = min(scores[kind], 0.0)
        cues[kind].append(f"不是{kind}")
    return _decide(scores, cues)


def _clean(value: str | None) -> str:
    return re.sub(r"\s+", " ", (value or "").replace("_x000D_", " ")).strip()


def _denied(title: str, text: str) -> set[str]:
    return {match.group(1) for match in NEGATED.finditer(f"{title}\n{text}")}


def _count(pattern: str, part: str) -> int:
    return min(len(re.findall(pattern, part)), MAX_CUE_HITS)


def _named(part: str, weight: float, scores: dict[str, float], cues: dict[str, list[str]],
           aliases: Mapping[str, str] | None) -> None:
    """Names of the ask: a repeat adds half again (a post that says 投诉 three times means it)."""
    table = dict(NAMED)
    for alias, kind in (aliases or {}).items():
        if kind in scores and alias:
            table[kind] = (*table[kind], (re.escape(alias), 2.5))
    plain = _QUESTION.sub(lambda m: "" if _RHETORICAL.search(m.group(0)) else m.group(0), part)
    for kind, patterns in table.items():
        for pattern, value in patterns:
            # 「请问这合法吗？」 is no question: a rhetorical sentence names no consultation
            hits = _count(pattern, plain if kind == "咨询" else part)
            if hits:
                scores[kind] += weight * value * (1 + 0.5 * (hits - 1))
                cues[kind].append(re.search(pattern, plain if kind == "咨询" else part).group(0))  # type: ignore[union-attr]


def _words(table: Mapping[str, tuple[tuple[str, float], ...]], part: str, weight: float, scores: dict[str, float],
           cues: dict[str, list[str]]) -> None:
    """Words of the matter (or of a title's opening), each counted once however often it comes."""
    for kind, patterns in table.items():
        for pattern, value in patterns:
            found = re.search(pattern, part)
            if found:
                scores[kind] += weight * value
                cues[kind].append(found.group(0))


def _questions(part: str, weight: float, scores: dict[str, float], cues: dict[str, list[str]]) -> None:
    """Genuine questions count for 咨询, rhetorical ones for 投诉 (at most three of each)."""
    genuine = rhetorical = 0
    for sentence in _QUESTION.findall(part):
        if _RHETORICAL.search(sentence):
            rhetorical += 1
        elif _GENUINE.search(sentence):
            genuine += 1
    if genuine:
        scores["咨询"] += weight * 1.0 * min(genuine, MAX_CUE_HITS)
        cues["咨询"].append(f"{genuine}×问")
    if rhetorical:
        scores["投诉"] += weight * 0.75 * min(rhetorical, MAX_CUE_HITS)
        cues["投诉"].append(f"{rhetorical}×反问")


def _decide(scores: dict[str, float], cues: dict[str, list[str]]) -> Guess | None:
    ranked = sorted(PRECEDENCE, key=lambda kind: (-scores[kind], PRECEDENCE.index(kind)))
    best = ranked[0]
    if scores[best] < MIN_SCORE:
        return None
    total = sum(max(value, 0.0) for value in scores.values())
    assert best in APPEAL_TYPES
    return Guess(appeal_type=best, confidence=round(scores[best] / total, 3), cues=tuple(dict.fromkeys(cues[best])),
                 scores=tuple((kind, round(scores[kind], 2)) for kind in ranked if scores[kind] > 0))
