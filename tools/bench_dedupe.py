"""Time ``decide`` over ~200 candidates on synthetic Chinese reports (no real data needed).

    PYTHONPATH=. /work/venv/bin/python tools/bench_dedupe.py --candidates 200 --runs 500
"""

from __future__ import annotations

import argparse
import random
import time
from datetime import datetime, timedelta, timezone

from dedupe.decide import Candidate, decide
from dedupe.features import extract

ESTATES = ["幸福里小区", "阳光花园", "金桂家园", "青山公寓", "红星大厦", "江景苑", "新华村", "东湖社区"]
ROADS = ["解放大道", "中山路", "建设街", "和平巷", "友谊大道", "胜利路"]
PROBLEMS = [
    "楼下烧烤店油烟直排,每天营业到凌晨两点,噪音和油烟严重影响居民休息",
    "路灯已经坏了两个星期,晚上一片漆黑,老人小孩出行很不安全",
    "垃圾桶满了三天没人清运,臭气熏天,蚊蝇滋生",
    "人行道坑洼积水,下雨天根本没法走,已经有人摔倒",
    "工地夜间施工噪音扰民,半夜还在打桩,投诉多次无人处理",
    "自来水发黄有异味,已经持续一周,物业说不归他们管",
]
FILLER = "我们小区的居民多次向物业和社区反映,一直没有得到解决,希望相关部门重视,派人实地查看,给我们一个答复。"


def report(rng: random.Random, t: datetime) -> dict[str, object]:
    text = f"江岸区{rng.choice(ROADS)}{rng.choice(ESTATES)}{rng.choice(PROBLEMS)}。" + FILLER * rng.randint(1, 4)
    return {"text": text, "received_at": t, "phone": f"138{rng.randint(0, 99999999):08d}", "channel": "board"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--candidates", type=int, default=200)
    parser.add_argument("--runs", type=int, default=500)
    parser.add_argument("--reports-per-case", type=int, default=3)
    args = parser.parse_args()
    rng = random.Random(7)
    t0 = datetime(2024, 5, 6, tzinfo=timezone.utc)
    candidates = []
    for i in range(args.candidates):
        reports = [extract(report(rng, t0 - timedelta(hours=rng.randint(0, 200)))) for _ in range(args.reports_per_case)]
        candidates.append(Candidate(i, reports[0], last_report_at=reports[-1].time, more_features=tuple(reports[1:])))
    news = [extract(report(rng, t0)) for _ in range(50)]
    timings = []
    for run in range(args.runs):
        started = time.perf_counter()
        decide(news[run % len(news)], candidates)
        timings.append((time.perf_counter() - started) * 1000)
    timings.sort()
    q = lambda p: timings[min(len(timings) - 1, int(p * len(timings)))]  # noqa: E731
    print(
        f"decide over {args.candidates} candidates x {args.reports_per_case} reports: "
        f"p50 {q(0.5):.2f} ms  p90 {q(0.9):.2f} ms  p99 {q(0.99):.2f} ms  max {timings[-1]:.2f} ms"
    )


if __name__ == "__main__":
    main()
