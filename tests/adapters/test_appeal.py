"""The appeal-type guess, table by table, on posts invented for these tests (never the board's own texts)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from adapters.appeal import Guess, infer
from adapters.base import APPEAL_TYPES

WUHAN_ALIASES = {"谏言": "建议", "投诉举报": "投诉", "求决": "求助"}


@pytest.mark.parametrize(("title", "text", "expected"), [
    # each type, said plainly
    (None, "请问公积金怎么提取？需要带什么材料？", "咨询"),
    ("咨询新生儿医保办理", "孩子刚出生，想了解在江汉区怎么办理医保卡。", "咨询"),
    (None, "我要投诉楼下烧烤店每天凌晨还在营业，噪音扰民，根本睡不着。", "投诉"),
    ("投诉某物业公司乱收停车费", "物业每月多收我们两百元停车费，要求退还。", "投诉"),
    (None, "实名举报有人在光谷某写字楼里搞传销，每天拉人头。", "举报"),
    ("举报汉阳区一工地夜间偷排泥浆", "工地每晚把泥浆偷排进下水道，请有关部门查处。", "举报"),
    ("建议在光谷大道增设公交站", "希望在光谷大道增设一个公交站，方便附近居民出行。", "建议"),
    ("希望开通地铁站到小区的微循环公交", "小区离地铁站两公里，没有公交。", "建议"),
    (None, "家里老人瘫痪在床，生活困难，求助政府帮帮我们。", "求助"),
    ("请求解决村里的饮水问题", "我们村到现在还没通自来水，天旱了井里没水。", "求助"),
    ("表扬江岸区环卫工人张师傅", "张师傅拾金不昧，把捡到的钱包送回失主，特此表扬。", "表扬"),
    (None, "为社区网格员点赞，疫情期间天天上门送菜，特此致谢！", "表扬"),
    # a complaint phrased as a question is a complaint
    (None, "为什么物业可以乱收费？难道就没人管吗？", "投诉"),
    (None, "小区物业乱收停车费，请问这合法吗？", "投诉"),
    # negations: what the citizen says it is not does not count
    (None, "不是投诉，只是咨询一下小区停水到几点？", "咨询"),
    ("咨询居住证", "我不是举报谁，想问一下办理居住证要带什么？", "咨询"),
    (None, "并非投诉，建议在东湖绿道多设几个垃圾桶。", "建议"),
    # the city's own names of the types count as names of the ask
    (None, "我谏言在东湖边多设几个垃圾桶。", "建议"),
    # thanks as a courtesy at the end of a complaint is no praise
    ("投诉某小区电梯停运一个月", "电梯坏了一个月物业不修，老人下不了楼。感谢领导百忙之中查看！", "投诉"),
])
def test_each_type_is_guessed_from_the_words_of_the_ask(title, text, expected):
    guess = infer(title, text, WUHAN_ALIASES)
    assert guess is not None and guess.appeal_type == expected, guess


@pytest.mark.parametrize("text", ["你好", "谢谢", "", "   ", "江岸区中山大道888号", "1"])
def test_a_text_whose_words_point_nowhere_gets_no_guess(text):
    assert infer(None, text) is None


def test_a_denied_type_is_never_the_guess_even_when_its_word_is_repeated():
    guess = infer("不是投诉", "不是投诉，不是投诉，请问社区医院几点开门？")
    assert guess is not None and guess.appeal_type == "咨询"
    assert "投诉" not in dict(guess.scores)


def test_the_title_outweighs_a_word_of_the_text():
    text = "小区门口的路坑坑洼洼，请问什么时候修？"
    assert infer(None, text).appeal_type == "咨询"  # type: ignore[union-attr]
    assert infer("投诉某街道不作为", text).appeal_type == "投诉"  # type: ignore[union-attr]


def test_a_guess_names_its_cues_and_a_confidence_between_zero_and_one():
    guess = infer("建议增设公交站", "希望增设公交站。请问能否考虑？")
    assert isinstance(guess, Guess) and guess.appeal_type == "建议"
    assert 0 < guess.confidence < 1 and "建议" in guess.cues
    assert guess.scores[0][0] == "建议" and {kind for kind, _ in guess.scores} >= {"建议", "咨询"}


@settings(max_examples=200, deadline=None)
@given(st.one_of(st.none(), st.text(max_size=60)), st.one_of(st.none(), st.text(max_size=400)))
def test_any_text_gets_one_of_the_seven_types_or_no_guess(title, text):
    guess = infer(title, text)
    assert guess is None or (guess.appeal_type in APPEAL_TYPES and guess.appeal_type != "其他"
                             and 0 < guess.confidence <= 1)
