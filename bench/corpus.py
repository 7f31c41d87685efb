"""Synthetic but realistic Chinese reports: many places and phones, re-reports of existing matters, four channels.

A *matter* is one problem at one place (district, street, place, category, detail). Preloaded
cases are matters 0..n-1; the load generator re-reports some of them (reworded, from another
person, or from the same phone) so dedupe has real work, and opens fresh matters for the rest.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from email.message import EmailMessage
from email.utils import format_datetime
from urllib.parse import urlencode

from twilio.request_validator import RequestValidator

from gateway.config import BUNDLED_PROFILE

CST = timezone(timedelta(hours=8))

PLACE_HEADS = [
    "常青",
    "万达",
    "金色",
    "阳光",
    "幸福",
    "和平",
    "滨江",
    "汉口",
    "东湖",
    "南湖",
    "翠微",
    "锦绣",
    "华润",
    "保利",
    "绿地",
    "光谷",
    "百步亭",
    "后湖",
    "四新",
    "江南",
    "水岸",
    "星城",
    "紫阳",
    "梅苑",
    "桂园",
    "丽岛",
    "复地",
    "融创",
]
PLACE_TAILS = ["花园", "小区", "公馆", "新村", "家园", "城", "名邸", "雅苑", "国际", "世家", "公寓", "佳园"]
ROADS = [
    "中山大道",
    "解放大道",
    "建设大道",
    "发展大道",
    "京汉大道",
    "武珞路",
    "珞喻路",
    "友谊大道",
    "和平大道",
    "汉阳大道",
    "鹦鹉大道",
    "民族大道",
    "光谷大道",
    "雄楚大道",
    "徐东大街",
    "沿江大道",
    "新华路",
    "青年路",
    "台北路",
    "工农路",
]
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高"
GIVEN = ["女士", "先生", "阿姨", "师傅", "小明", "建国", "丽华", "志强", "秀英", "桂芳"]

# category code -> (topic name, detail templates). {p}: the place; {n}: a number. Several wordings per matter.
PROBLEMS: dict[str, tuple[str, list[list[str]]]] = {
    "street_light": (
        "路灯照明",
        [
            [
                "{p}门口的路灯已经{n}天不亮了，晚上出行很不安全，请尽快维修。",
                "{p}附近路灯坏了{n}天，夜里很黑，老人孩子走路害怕。",
                "反映{p}路灯不亮的问题，已经持续{n}天，希望相关部门修一下。",
            ],
            ["{p}东侧灯杆倾斜，随时可能倒下，请派人处理。", "{p}旁边有根灯杆歪了，很危险。"],
        ],
    ),
    "city_appearance": (
        "市容环卫",
        [
            [
                "{p}楼下餐馆油烟直排，楼上住户窗户都不敢开，请城管处理。",
                "{p}底商饭店油烟扰民，持续{n}个月了。",
                "投诉{p}一楼餐馆油烟直接排到居民楼，气味很大。",
            ],
            ["{p}门口垃圾{n}天没人清运，臭味很大。", "{p}垃圾站满了没人收，苍蝇很多，环卫能不能来看看。"],
            ["{p}路口有人占道经营乱摆摊，早晚高峰堵得走不动。", "{p}门口摊贩占道，行人只能走机动车道。"],
        ],
    ),
    "road_traffic": (
        "道路交通",
        [
            ["{p}门前井盖缺失，已经有人崴脚，请尽快补上。", "{p}附近井盖松动，车一压就响，存在安全隐患。"],
            ["{p}路面坑洼严重，下雨后全是水，电动车经常摔倒。", "{p}门口道路破损{n}个月了一直没修。"],
        ],
    ),
    "traffic_police": (
        "交通管理",
        [
            ["{p}门口长期违停，消防通道被堵死。", "{p}小区出口天天有车乱停车，居民车辆出不去。"],
        ],
    ),
    "water": (
        "供水排水",
        [
            ["{p}从昨天开始停水，没有任何通知，请问什么时候恢复。", "{p}突然停水{n}小时了，家里老人做不了饭。"],
            ["{p}一下雨就积水，水深到膝盖，下水道堵了。", "{p}路段渍水严重，排水口被垃圾堵住。"],
            ["{p}自来水水质发黄，有异味，不敢饮用。", "{p}家里自来水浑浊发黄已经{n}天。"],
        ],
    ),
    "housing": (
        "住房物业",
        [
            ["{p}{n}号楼电梯经常停运，物业不管，老人上下楼很困难。", "{p}电梯又坏了，一个月坏了{n}次，物业推诿。"],
            ["{p}物业乱收费，停车费一年涨了{n}百元。", "投诉{p}物业服务差，公共区域无人打扫。"],
        ],
    ),
    "environment": (
        "生态环境",
        [
            ["{p}旁边工地夜间施工噪音扰民，晚上十二点还在打桩。", "{p}附近工地半夜施工，噪声太大无法入睡。"],
            ["{p}附近工厂排放废气，有刺鼻异味。", "{p}周边经常闻到化工异味，担心污染。"],
        ],
    ),
    "market": (
        "市场监管",
        [
            ["在{p}附近一家商家买到过期食品，商家拒绝退款。", "{p}超市销售过期商品，要求处理。"],
        ],
    ),
    "labour": (
        "劳动社保",
        [
            ["我在{p}附近工地干活，被拖欠工资{n}个月，老板联系不上。", "{p}某公司欠薪{n}个月，工人讨薪无门。"],
        ],
    ),
    "education": (
        "教育",
        [
            ["{p}的孩子入学学位紧张，划片学校不接收，请问怎么办。", "咨询{p}片区今年小学入学学位安排。"],
        ],
    ),
}
PHASES = ["", "一期", "二期", "三期", "A区", "B区"]
APPEALS = ["投诉", "求助", "投诉", "咨询", "建议", "举报"]


@dataclass(frozen=True)
class Matter:
    """One problem at one place."""

    key: int
    district: str
    street: str
    place: str
    address: str
    category: str
    topic: str
    wordings: tuple[str, ...]
    number: int

    def text(self, variant: int) -> str:
        return self.wordings[variant % len(self.wordings)].format(p=self.place, n=self.number)

    def title(self, variant: int) -> str:
        return self.text(variant)[:18].rstrip("，。")


class Corpus:
    """Deterministic matters, people and channel payloads for a seed."""

    def __init__(self, seed: int = 12345, profile_path: str | None = None) -> None:
        import tomllib

        with open(profile_path or BUNDLED_PROFILE, "rb") as fh:
            profile = tomllib.load(fh)
        self.seed = seed
        self.districts = [
            (d["name"], list(d.get("streets", [])) or [d["name"]]) for d in profile["territory"]["districts"]
        ]
        self.categories = list(PROBLEMS)

    def matter(self, key: int) -> Matter:
        rng = random.Random(self.seed * 1_000_003 + key)
        district, streets = rng.choice(self.districts)
        street = rng.choice(streets)
        if rng.random() < 0.6:
            place = f"{rng.choice(PLACE_HEADS)}{rng.choice(PLACE_TAILS)}{rng.choice(PHASES)}"
            address = f"{district}{street}{place}"
        else:
            place = f"{rng.choice(ROADS)}{rng.randint(1, 999)}号"
            address = f"{district}{place}"
        category = rng.choice(self.categories)
        topic, groups = PROBLEMS[category]
        wordings = tuple(rng.choice(groups))
        return Matter(key, district, street, place, address, category, topic, wordings, rng.randint(2, 9))

    def phone(self, person: int) -> str:
        """A Chinese mobile number, the same for the same person."""
        rng = random.Random(self.seed * 7_000_001 + person)
        return f"1{rng.choice('35789')}{rng.randint(0, 9)}{person % 100_000_000:08d}"

    def name(self, person: int) -> str:
        rng = random.Random(self.seed * 9_000_011 + person)
        return rng.choice(SURNAMES) + rng.choice(GIVEN)

    def email(self, person: int) -> str:
        return f"citizen{person}@example.com"


@dataclass
class Request:
    """One HTTP request of the load: method, path, body, headers, and its channel."""

    channel: str
    method: str
    path: str
    body: bytes
    headers: dict[str, str]


@dataclass
class Secrets:
    """The channel credentials the server under test is started with."""

    hotline_token: str = "bench-cc-token"
    twilio_token: str = "bench-twilio-token"
    twilio_sid: str = "AC" + "b" * 32
    public_url: str = "https://hotline.bench.example"
    mail_secret: str = "bench-mail-secret"

    def env(self) -> dict[str, str]:
        return {
            "HOTLINE_SYSTEM_TOKENS": f"bench:{self.hotline_token}",
            "TWILIO_AUTH_TOKEN": self.twilio_token,
            "TWILIO_ACCOUNT_SID": self.twilio_sid,
            "TWILIO_FROM_NUMBER": "+8610690012345",
            "HOTLINE_PUBLIC_URL": self.public_url,
            "HOTLINE_INBOUND_MAIL_SECRET": self.mail_secret,
        }


MIX = (("board", 0.35), ("hotline", 0.25), ("sms", 0.2), ("email", 0.2))


class Load:
    """Build the mixed-channel requests: re-reports of existing matters (other person or same phone) and fresh ones."""

    def __init__(
        self,
        corpus: Corpus,
        existing: int,
        secrets: Secrets,
        seed: int = 1,
        rereport: float = 0.3,
        same_person: float = 0.1,
        run: str = "r",
    ) -> None:
        self.corpus, self.existing, self.secrets = corpus, existing, secrets
        self.rng = random.Random(seed)
        self.rereport, self.same_person = rereport, same_person
        self.run = run  # keeps external ids unique across runs on one database
        self.fresh_matter = existing + 1_000_000
        self.fresh_person = existing + 50_000_000
        self.validator = RequestValidator(secrets.twilio_token)
        self.counts = {"rereport": 0, "same_person": 0, "fresh": 0}

    def requests(self, n: int) -> list[Request]:
        return [self.request(i) for i in range(n)]

    def request(self, i: int) -> Request:
        rng = self.rng
        channel = rng.choices([c for c, _ in MIX], [w for _, w in MIX])[0]
        roll = rng.random()
        if self.existing and roll < self.same_person:
            key = rng.randrange(self.existing)
            person = key  # preloaded case k was reported by person k
            self.counts["same_person"] += 1
        elif self.existing and roll < self.same_person + self.rereport:
            key = rng.randrange(self.existing)
            self.fresh_person += 1
            person = self.fresh_person
            self.counts["rereport"] += 1
        else:
            self.fresh_matter += 1
            self.fresh_person += 1
            key, person = self.fresh_matter, self.fresh_person
            self.counts["fresh"] += 1
        matter = self.corpus.matter(key)
        variant = rng.randrange(3)
        return getattr(self, channel)(f"{self.run}{i}", matter, variant, person)

    def board(self, uid: str, m: Matter, variant: int, person: int) -> Request:
        post = {
            "post_id": f"BD-{uid}",
            "unit": f"{m.district}人民政府",
            "topic": m.topic,
            "title": m.title(variant),
            "text": f"<p>{m.text(variant)}</p><p>地址：{m.address}。</p>",
            "address": m.address,
            "name": self.corpus.name(person),
            "phone": self.corpus.phone(person),
            "public": True,
        }
        return Request(
            "board",
            "POST",
            "/api/v1/board/posts",
            json.dumps(post, ensure_ascii=False).encode(),
            {"Content-Type": "application/json"},
        )

    def hotline(self, uid: str, m: Matter, variant: int, person: int) -> Request:
        now = datetime.now(CST)
        ticket = {
            "ticket_no": f"WH12345-{now:%Y%m%d}-{uid}",
            "caller_number": self.corpus.phone(person),
            "caller_name": self.corpus.name(person),
            "call_time": f"{now:%Y-%m-%d %H:%M:%S}",
            "appeal_type": APPEALS[person % len(APPEALS)],
            "title": m.title(variant),
            "content": f"来电人反映：{m.text(variant)}",
            "address": m.address,
            "district": m.district,
            "operator_id": f"A{person % 400:04d}",
            "urgency": "一般",
        }
        return Request(
            "hotline",
            "POST",
            "/api/v1/hotline/tickets",
            json.dumps(ticket, ensure_ascii=False).encode(),
            {"Content-Type": "application/json", "Authorization": f"Bearer {self.secrets.hotline_token}"},
        )

    def sms(self, uid: str, m: Matter, variant: int, person: int) -> Request:
        path = "/webhooks/twilio/sms"
        form = {
            "MessageSid": f"SM{uid}",
            "AccountSid": self.secrets.twilio_sid,
            "From": "+86" + self.corpus.phone(person),
            "To": "+8610690012345",
            "Body": f"{m.address}：{m.text(variant)}"[:300],
            "NumMedia": "0",
            "SmsStatus": "received",
        }
        signature = self.validator.compute_signature(self.secrets.public_url + path, form)
        return Request(
            "sms",
            "POST",
            path,
            urlencode(form).encode(),
            {"Content-Type": "application/x-www-form-urlencoded", "X-Twilio-Signature": signature},
        )

    def email(self, uid: str, m: Matter, variant: int, person: int) -> Request:
        msg = EmailMessage()
        msg["From"] = f"{self.corpus.name(person)} <{self.corpus.email(person)}>"
        msg["To"] = "12345@example.wuhan.gov.cn"
        msg["Subject"] = m.title(variant)
        msg["Message-ID"] = f"<{uid}.{person}@example.com>"
        msg["Date"] = format_datetime(datetime.now(CST))
        msg.set_content(
            f"您好：\n\n{m.text(variant)}\n地址：{m.address}\n联系电话：{self.corpus.phone(person)}\n\n谢谢！\n"
        )
        return Request(
            "email",
            "POST",
            f"/webhooks/email?secret={self.secrets.mail_secret}",
            msg.as_bytes(),
            {"Content-Type": "message/rfc822"},
        )
