"""Chat latency and throughput through /api/chat/send, beside Rasa alone, and where time goes.

Run: .venv-app/bin/python benchmarks/chat_latency.py [--rounds N]
It starts its own Rasa + app (fresh data dir), a second Rasa whose actions return at once
(the Rasa-only baseline), sends the same mixed zh/en shopper messages to both at concurrency
1 and 10, and times the components (NLU parse, embedding, Chroma, BM25, action) one by one.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import aiohttp
from aiohttp import web

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from assistant.launcher import start_stack  # noqa: E402
from assistant.training import ensure_trained  # noqa: E402
from tests.stack import free_port, sqlite_tracker_store, start_system  # noqa: E402

REDIS_STORES = (
    "tracker_store:\n  type: redis\n  url: 127.0.0.1\n  port: 6379\n  db: 3\n"
    "lock_store:\n  type: redis\n  url: 127.0.0.1\n  port: 6379\n  db: 4\n"
)


def stores(kind: str, data_dir: Path) -> str:
    """The endpoints.yml section for a tracker-store choice (Rasa's own store types)."""
    return {"sqlite": sqlite_tracker_store(data_dir), "memory": "", "redis": REDIS_STORES}[kind]


# (kind, messages of one shopper's conversation). "returning" shoppers send several turns.
CONVERSATIONS: list[tuple[str, list[str]]] = [
    ("knowledge", ["维C焕亮精华液多少钱"]),
    ("knowledge", ["how much is the vitamin C serum?"]),
    ("knowledge", ["有没有适合油皮的防晒"]),
    ("knowledge", ["is the retinol serum safe during pregnancy?"]),
    ("knowledge", ["敏感肌可以用积雪草面膜吗"]),
    ("knowledge", ["开封后能放多久"]),
    ("consult", ["帮我推荐护肤品", "油皮", "痘痘", "不敏感", "没有"]),
    ("consult", ["recommend me a routine", "dry", "fine lines", "no", "no"]),
    ("order", ["订单DD202511200015 尾号1234 到哪了"]),
    ("order", ["where is my parcel", "DD202511180042", "3821"]),
    ("chat", ["你好", "谢谢"]),
    ("chat", ["hi", "thanks!"]),
    # The shopper journeys: routine follow-ups, coupons, group-buys, referrals, after-sales,
    # privacy, and a handoff (the shopper's later turns are then answered by staff, not timed).
    ("routine", ["我是油皮 痘痘多 推荐一下用啥", "不会", "没怀孕", "有便宜一点的吗", "换成无香的"]),
    ("routine", ["dry skin with fine lines, what should I use?", "no", "no", "what about night?"]),
    ("promotion", ["我要领优惠券", "我的邀请码是多少"]),
    ("promotion", ["can I get a coupon?", "I want to start a group buy for the cleanser"]),
    ("aftersales", ["我的售后进度怎么样了"]),
    ("privacy", ["导出我的数据"]),
    ("handoff", ["转人工"]),
]


@dataclass
class Sample:
    kind: str
    seconds: float


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


def summary(samples: list[Sample], wall: float) -> str:
    ms = [s.seconds * 1000 for s in samples]
    return (
        f"n={len(ms):4d}  p50 {percentile(ms, 50):6.1f} ms  p95 {percentile(ms, 95):6.1f} ms"
        f"  p99 {percentile(ms, 99):6.1f} ms  {len(ms) / wall:6.1f} msg/s"
    )


async def run_load(send, concurrency: int, rounds: int) -> tuple[list[Sample], float]:
    """Each worker plays whole conversations, as a new shopper each time."""
    queue: asyncio.Queue[tuple[str, list[str]]] = asyncio.Queue()
    for _ in range(rounds):
        for conversation in CONVERSATIONS:
            queue.put_nowait(conversation)
    samples: list[Sample] = []

    async def worker() -> None:
        while not queue.empty():
            kind, messages = queue.get_nowait()
            user = "bench-" + uuid.uuid4().hex[:10]
            for text in messages:
                started = time.perf_counter()
                await send(user, text)
                samples.append(Sample(kind, time.perf_counter() - started))

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return samples, time.perf_counter() - started


async def instant_actions(port: int) -> web.AppRunner:
    """An action server whose every action returns at once with no events."""

    async def webhook(_: web.Request) -> web.Response:
        return web.json_response({"events": [], "responses": []})

    app = web.Application()
    app.router.add_post("/webhook", webhook)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    return runner


async def bench(rounds: int, tracker: str, workers: int) -> None:
    data_dir = Path(tempfile.mkdtemp(prefix="siyu-bench-"))
    print(f"tracker store {tracker}, {workers} Rasa worker(s); data in {data_dir}", flush=True)
    env = {"SANIC_WORKERS": str(workers)}
    system = start_system(
        data_dir / "full", endpoints_extra=stores(tracker, data_dir / "full"), env=env
    )
    stub_port, bare_rasa_port = free_port(), free_port()
    stub = await instant_actions(stub_port)
    endpoints = data_dir / "bare-endpoints.yml"
    (data_dir / "bare").mkdir()
    endpoints.write_text(
        f'action_endpoint:\n  url: "http://127.0.0.1:{stub_port}/webhook"\n'
        + stores(tracker, data_dir / "bare")
    )
    bare_settings = system.settings.model_copy(
        update={"port": free_port(), "data_dir": data_dir / "bare"}
    )
    bare = start_stack(
        bare_settings, ensure_trained(), rasa_port=bare_rasa_port, endpoints=endpoints, env=env
    )
    bare_url = f"http://127.0.0.1:{bare_rasa_port}"
    try:
        async with aiohttp.ClientSession() as http:

            async def via_app(user: str, text: str) -> None:
                body = {"chat_id": "bench", "user_id": user, "user_name": user, "text": text}
                async with http.post(f"{system.app_url}/api/chat/send", json=body) as r:
                    assert r.status == 200, await r.text()
                    await r.read()

            async def via_rasa_only(user: str, text: str) -> None:
                body = {"sender": user, "message": text}
                async with http.post(f"{bare_url}/webhooks/gateway/webhook", json=body) as r:
                    assert r.status == 200, await r.text()
                    await r.read()

            async def parse_only(_: str, text: str) -> None:
                async with http.post(f"{system.rasa_url}/model/parse", json={"text": text}) as r:
                    await r.read()

            await run_load(via_app, 2, 1)  # warm-up: caches, JIT paths, connections
            await run_load(via_rasa_only, 2, 1)
            results: dict[str, tuple[list[Sample], float]] = {}
            for concurrency in (1, 10):
                results[f"app c={concurrency}"] = await run_load(via_app, concurrency, rounds)
                results[f"rasa-only c={concurrency}"] = await run_load(
                    via_rasa_only, concurrency, rounds
                )
            results["nlu parse c=1"] = await run_load(parse_only, 1, rounds)

        print("\n== end to end (mixed zh/en shoppers, new conversation per play) ==")
        for name, (samples, wall) in results.items():
            print(f"{name:<16} {summary(samples, wall)}")
        samples, wall = results["app c=1"]
        print("\n== per journey, app c=1 ==")
        for kind in dict.fromkeys(k for k, _ in CONVERSATIONS):
            mine = [s for s in samples if s.kind == kind]
            print(f"{kind + ' c=1':<16} {summary(mine, sum(s.seconds for s in mine))}")
        app10 = len(results["app c=10"][0]) / results["app c=10"][1]
        rasa10 = len(results["rasa-only c=10"][0]) / results["rasa-only c=10"][1]
        print(f"throughput at c=10: app {app10:.1f} msg/s = {app10 / rasa10:.2f} x rasa-only")
    finally:
        bare.stop()
        system.stack.stop()
        await stub.cleanup()


def components() -> None:
    """Time the app-side pieces in-process: embedding, Chroma, BM25, the whole answer."""
    from assistant.bootstrap import build_services
    from assistant.config import load_settings

    services = build_services(load_settings(data_dir=Path(tempfile.mkdtemp())))
    knowledge = services.knowledge
    questions = [t for kind, msgs in CONVERSATIONS if kind == "knowledge" for t in msgs]

    def timed(fn, repeat: int = 20) -> float:
        values = []
        for _ in range(repeat):
            for q in questions:
                started = time.perf_counter()
                fn(q)
                values.append((time.perf_counter() - started) * 1000)
        return statistics.median(values)

    embedder = knowledge.embedder
    print("\n== app-side components (median ms per call, in-process) ==")
    print(f"embed query (uncached)  {timed(lambda q: embedder.embed_queries([q]), 5):6.2f}")
    print(f"embed query (cached)    {timed(embedder.embed_query):6.2f}")
    vector = embedder.embed_query(questions[0])
    chroma = timed(lambda q: knowledge.store.query(vector, 20, None))
    print(f"chroma query k=20       {chroma:6.2f}")
    print(f"bm25 search k=20        {timed(lambda q: knowledge.sparse.search(q, 20)):6.2f}")
    print(f"hybrid search k=5       {timed(lambda q: knowledge.search(q, 5)):6.2f}")
    print(f"advisor answer          {timed(lambda q: services.advisor.answer(q, 'zh')):6.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--rounds", type=int, default=5, help="how many times each conversation is played per run"
    )
    parser.add_argument(
        "--tracker",
        choices=["sqlite", "memory", "redis"],
        default="sqlite",
        help="Rasa tracker store (redis also sets a Redis lock store)",
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=1,
        help="Rasa (Sanic) workers; more than 1 needs --tracker redis",
    )
    parser.add_argument(
        "--skip-components", action="store_true", help="only the end-to-end figures"
    )
    args = parser.parse_args()
    if args.workers > 1 and args.tracker != "redis":
        parser.error("several Rasa workers need a shared lock store: use --tracker redis")
    asyncio.run(bench(args.rounds, args.tracker, args.workers))
    if not args.skip_components:
        components()


if __name__ == "__main__":
    main()
