"""Load test: N visitors arrive, use the app at once for a few minutes, and leave. Loopback only.

    python -m tests.load.run --sessions 40 --minutes 3
    python -m tests.load.run --sessions 40 --within 60 --minutes 1 --page-p95-s 5   # a room arriving at once

It starts the app's server exactly as `accel-explorer app` does (explorer.serve), on 127.0.0.1, with a short
idle-cull time so that the memory of visitors who vanish without closing their tab is seen coming back. Then:

1. arrivals: N scripted visitors (tests/load/visitor.py) arrive evenly spread over --within seconds; each
   opens the page, connects and moves a slider once; its time to a working page is recorded;
2. use: every visitor moves a control (request volume, model changes, peak ratio, deployment) every 1-3 s,
   for --minutes; each move's latency is the time from sending it to the kernel going idle after it, by which
   time every chart update has been sent (what the browser then draws is the visitor's own machine's work);
3. leaving: half the visitors close their tab (the page's beacon shuts the kernel down), the other half just
   vanish (network gone, laptop shut); their kernels are culled once idle for --cull seconds.

It prints sessions held, errors, p50/p95 latency, server and kernel memory at peak, and memory once
everyone has left, and exits 1 unless: every visitor got a working page, there were no errors,
p95 < --p95-ms, and the memory came back to within 25 % (+100 MB) of what it was before the visitors came.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import sys
import time
from dataclasses import dataclass, field

import psutil
from tornado.httpclient import AsyncHTTPClient

from explorer.serve import APP_NOTEBOOK, voila_argv

from ..servers import free_port, server_process, serving
from .visitor import Visitor

MB = 1024 * 1024
MOVES = {  # control -> values a visitor moves it between
    "Request volume": [1e6, 3e7, 1e8, 5e8, 2.5e9, 1e10, 6e10],
    "Model changes": [0.0, 1.0, 4.0, 12.0, 52.0],
    "Peak to average": [1.5, 2.0, 3.0, 5.0],
}


@dataclass
class Tally:
    arrivals: list[float] = field(default_factory=list)  # seconds from arriving to a working page
    latencies: list[float] = field(default_factory=list)  # once everyone has arrived
    arrival_latencies: list[float] = field(default_factory=list)  # while visitors are still arriving
    everyone_in: float = float("inf")  # when the last visitor is due
    errors: list[str] = field(default_factory=list)
    moves: int = 0
    busy_pages: int = 0


def kernel_processes(server: psutil.Process) -> list[psutil.Process]:
    """The server's kernels: processes running ipykernel, or forked by its kernel fork server (whose command
    line is the fork server's: explorer.forkserver)."""
    found = []
    for child in server.children(recursive=True):
        try:
            cmdline = " ".join(child.cmdline())
            parent = child.parent()
            forked = parent is not None and parent.pid != server.pid and "explorer.forkserver" in cmdline
            if "ipykernel" in cmdline or forked:
                found.append(child)
        except psutil.Error:  # gone, or a zombie waiting to be reaped
            continue
    return found


def zygotes(server: psutil.Process) -> list[psutil.Process]:
    """The server's kernel fork server (explorer.forkserver), if it has one."""
    found = []
    for child in server.children():
        try:
            if "explorer.forkserver" in " ".join(child.cmdline()):
                found.append(child)
        except psutil.Error:
            continue
    return found


def memory(server: psutil.Process) -> dict[str, float]:
    """Resident memory of the server and of its kernels (PSS: shared pages counted once, in MB); the kernel
    fork server, if any, is counted with the server."""
    kernels = []
    for child in kernel_processes(server):
        try:
            kernels.append(child.memory_full_info())
        except psutil.Error:
            continue
    own = server.memory_full_info()
    extra = 0
    for z in zygotes(server):
        try:
            extra += z.memory_full_info().pss
        except psutil.Error:
            continue
    total = own.pss + extra + sum(k.pss for k in kernels)
    return {
        "kernels": len(kernels),
        "server_mb": own.rss / MB,
        "kernel_rss_mb": statistics.median(k.rss for k in kernels) / MB if kernels else 0.0,
        "total_pss_mb": total / MB,
    }


async def visitor_life(
    base: str, delay: float, until: float, tally: Tally, rng: random.Random
) -> Visitor | None:
    await asyncio.sleep(delay)
    v = Visitor(base)
    t0 = time.monotonic()
    try:
        await v.open_page()
        await v.connect()
        await v.request_states()
        volume = v.model("Request volume")
        now = v.states[volume]["state"]["value"]
        _, charts = await v.set(volume, value=rng.choice([x for x in MOVES["Request volume"] if x != now]))
        if charts == 0:
            raise RuntimeError("no chart followed the first move")
        tally.arrivals.append(time.monotonic() - t0)
    except Exception as err:
        tally.errors.append(f"arrival: {type(err).__name__}: {err}"[:300])
        if "503" in str(err):
            tally.busy_pages += 1
        await v.close()  # gone: its kernel, if any, is culled like any other
        return None
    # every move changes something: a value other than the control's current one
    moves = dict(MOVES)
    current = {c: v.states[v.model(c)]["state"]["value"] for c in moves}
    current["Request volume"] = None  # just moved
    deployment = next(
        (m for m, st in v.states.items() if st["state"].get("description") == "Deployment"), None
    )
    if deployment:
        moves["Deployment"] = list(range(len(v.states[deployment]["state"]["_options_labels"])))
        current["Deployment"] = v.states[deployment]["state"]["index"]
    while time.monotonic() < until:
        await asyncio.sleep(rng.uniform(1.0, 3.0))
        control = rng.choice(list(current))
        value = rng.choice([x for x in moves[control] if x != current[control]])
        current[control] = value
        try:
            if control == "Deployment":
                seconds, _ = await v.set(deployment, index=value)
            else:
                seconds, _ = await v.set(v.model(control), value=value)
            busy = time.monotonic() < tally.everyone_in
            (tally.arrival_latencies if busy else tally.latencies).append(seconds)
            tally.moves += 1
        except Exception as err:
            tally.errors.append(f"move: {type(err).__name__}: {err}"[:300])
            if v.closed:
                return v
    return v


async def main_async(args: argparse.Namespace) -> int:
    AsyncHTTPClient.configure(None, max_clients=10_000)  # tornado's default queues past 10 fetches
    port = free_port()
    argv = voila_argv(
        APP_NOTEBOOK,
        port,
        max_sessions=args.max_sessions or args.sessions + 10,
        pool_size=args.pool,
        idle_seconds=args.cull,
        # every scripted visitor comes from 127.0.0.1: a room behind one address
        sessions_per_client=args.max_sessions or args.sessions + 10,
    )
    with serving(argv, port, "load-voila", timeout=120) as url:
        base = url.rstrip("/")
        server = server_process(port)
        await asyncio.sleep(args.warmup)  # the pre-started pool fills
        before = memory(server)
        tally = Tally()
        rng = random.Random(args.seed)
        held = 0
        peak = dict(before)
        afters = []
        for _wave in range(args.waves):  # the same server, visitors coming again: a leak would show
            start = time.monotonic()
            # everyone has arrived, and the last pages have been made (the longest wait seen here was 25 s)
            tally.everyone_in = start + args.within + args.settle
            until = tally.everyone_in + args.minutes * 60
            spacing = args.within / max(args.sessions - 1, 1)

            async def sample(until: float = until) -> None:
                while time.monotonic() < until:
                    now = memory(server)
                    if now["total_pss_mb"] > peak["total_pss_mb"]:
                        peak.update(now)
                    await asyncio.sleep(5)

            sampler = asyncio.ensure_future(sample())
            lives = [
                visitor_life(base, i * spacing, until, tally, random.Random(rng.random()))
                for i in range(args.sessions)
            ]
            visitors = [v for v in await asyncio.gather(*lives) if v is not None]
            sampler.cancel()
            held += len(visitors)

            # leaving: half close the tab, half vanish
            for i, v in enumerate(visitors):
                try:
                    await (v.leave() if i % 2 == 0 else v.close())
                except Exception as err:
                    tally.errors.append(f"leave: {type(err).__name__}: {err}"[:300])
            left_at = time.monotonic()
            after = memory(server)
            while after["kernels"] > before["kernels"] and time.monotonic() - left_at < args.cull + 120:
                await asyncio.sleep(5)
                after = memory(server)
            back_in = time.monotonic() - left_at
            afters.append(after)

    lat = sorted(tally.latencies)

    def pct(xs: list[float], q: float) -> float:
        return xs[min(len(xs) - 1, int(q * len(xs)))] if xs else float("nan")

    arrivals = sorted(tally.arrivals)
    p50, p95 = pct(lat, 0.5) * 1000, pct(lat, 0.95) * 1000
    waves = f", {args.waves} times over" if args.waves > 1 else ""
    print(
        f"visitors: {args.sessions} arriving within {args.within:.0f} s, "
        f"then {args.minutes:g} min of use{waves}"
    )
    print(
        f"sessions held: {held} of {args.sessions * args.waves}; busy pages: {tally.busy_pages}; "
        f"errors: {len(tally.errors)}"
    )
    for e in tally.errors[:10]:
        print("  error:", e)
    print(
        f"time to a working page: median {pct(arrivals, 0.5):.1f} s, p95 {pct(arrivals, 0.95):.1f} s, "
        f"worst {arrivals[-1] if arrivals else float('nan'):.1f} s"
    )
    early = sorted(tally.arrival_latencies)
    print(
        f"control moves: {tally.moves + len(early)}; latency to every update sent, once all are in: "
        f"p50 {p50:.0f} ms, p95 {p95:.0f} ms (n={len(lat)}); while pages were still being made: "
        f"p50 {pct(early, 0.5) * 1000:.0f} ms, p95 {pct(early, 0.95) * 1000:.0f} ms (n={len(early)})"
    )
    print(
        f"memory before: {before['total_pss_mb']:.0f} MB ({before['kernels']} pre-started kernels); "
        f"at peak: {peak['total_pss_mb']:.0f} MB with {peak['kernels']} kernels "
        f"(server {peak['server_mb']:.0f} MB RSS, a kernel {peak['kernel_rss_mb']:.0f} MB RSS, median)"
    )
    print(
        f"after everyone left: {after['total_pss_mb']:.0f} MB, {after['kernels']} kernels, "
        f"{back_in:.0f} s after (idle cull after {args.cull} s); the server process "
        f"{before['server_mb']:.0f} MB RSS before, {after['server_mb']:.0f} MB after"
    )
    # Back means: the visitors' kernels are gone (only the pre-started pool is left) and what remains above
    # the start is at most a tenth of what the visitors took at peak (the server's Python heap keeps some of
    # the room it grew into: it is reused, not leaked, by the next visitors).
    grown = peak["total_pss_mb"] - before["total_pss_mb"]
    ok_memory = after["kernels"] <= before["kernels"] and (
        after["total_pss_mb"] <= before["total_pss_mb"] + max(0.1 * grown, 100)
    )
    for n, a in enumerate(afters[:-1], 1):
        print(f"  after wave {n}: {a['total_pss_mb']:.0f} MB, the server process {a['server_mb']:.0f} MB RSS")
    # a second wave must reuse the server's room, not add to it
    ok_memory = ok_memory and all(a["server_mb"] <= afters[0]["server_mb"] * 1.15 + 50 for a in afters[1:])
    ok = held == args.sessions * args.waves and not tally.errors and p95 < args.p95_ms and ok_memory
    targets = f"p95 < {args.p95_ms} ms, no errors, all held, memory back: {ok_memory}"
    if args.page_p95_s is not None:  # a room arriving at once: pages fast, and the others' moves too
        page_p95, early_p95 = pct(arrivals, 0.95), pct(early, 0.95) * 1000
        ok = ok and page_p95 <= args.page_p95_s and early_p95 <= args.p95_ms
        targets += (
            f"; page p95 {page_p95:.1f} s <= {args.page_p95_s:g} s and p95 while arriving "
            f"{early_p95:.0f} ms <= {args.p95_ms:g} ms"
        )
    print("PASS" if ok else "FAIL", f"({targets})")
    return 0 if ok else 1


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--sessions", type=int, default=40, help="visitors (default 40)")
    p.add_argument("--within", type=float, default=60, help="seconds over which they arrive (default 60)")
    p.add_argument("--minutes", type=float, default=3, help="minutes of use after the arrivals (default 3)")
    p.add_argument("--cull", type=int, default=60, help="idle seconds before a gone visitor's kernel goes")
    p.add_argument("--pool", type=int, default=None, help="pre-started kernels (default: the app's default)")
    p.add_argument("--max-sessions", type=int, default=None, help="the server's cap (default: sessions + 10)")
    p.add_argument("--p95-ms", type=float, default=500, help="latency target for the 95th percentile")
    p.add_argument(
        "--page-p95-s",
        type=float,
        default=None,
        help="also require p95 time to a working page under this, and p95 moves under --p95-ms while "
        "visitors arrive (the room target: 5)",
    )
    p.add_argument("--warmup", type=float, default=15, help="seconds to let the pre-started pool fill")
    p.add_argument(
        "--settle", type=float, default=30, help="seconds after the last arrival before the use phase"
    )
    p.add_argument("--waves", type=int, default=1, help="times the visitors come and go (same server)")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    if args.pool is None:
        from explorer.serve import POOL_SIZE

        args.pool = POOL_SIZE
    return asyncio.run(main_async(args))


if __name__ == "__main__":
    sys.exit(main())
