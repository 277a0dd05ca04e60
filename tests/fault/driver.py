#!/usr/bin/env python3
"""Load driver for the fault suite (tests/fault/run.sh). Standard library only (no pip here).

  driver.py load   --base URL [--base URL2] --link CODE --clicks FILE --prefix P --out FILE.json [rates]
                   [--metrics URL ...] [--via-balancer]
  driver.py clicks --base URL --link CODE --n N            (pre-made clicks for postbacks; prints click ids)
  driver.py retry  --base URL --run FILE.json --out FILE.json (re-sends postbacks that got no definitive answer)

`load` runs until SIGTERM/SIGINT or --duration, then lets requests in flight finish (bounded) and writes
what every request got: each click answered 302 by its click id and instance, each postback txid with all
its answers. It also scrapes /metrics of every instance once a second, so the suite can show what the
server said during a fault and use the server's own counters where the driver's view is incomplete
(a request whose answer was never read because the server died).

HTTP/1.1 keep-alive on raw asyncio streams: a connection that fails is counted, closed and opened again.

Behind a load balancer (--via-balancer, tests/fault/balancer.sh) the load goes to the balancer and /metrics is
read from each instance (--metrics), since a scrape through the balancer would reach a different instance each
time. The errors the balancer makes itself carry X-Balancer-Error (deploy/haproxy/haproxy.cfg): its 502 or 504
means it read no answer from the instance (which may have acted on the request), so it counts as "no answer
read"; its 503 means no instance took the request, so it counts as "not sent".
"""
import argparse
import asyncio
import json
import random
import re
import signal
import sys
import time
import urllib.parse

TOKEN = "demo-postback-token"
COOKIE_RE = re.compile(rb"^set-cookie:\s*atc_\d+=([0-9A-Z]{26});", re.I | re.M)
# Metric families kept from each scrape (every label set of each).
METRICS = {
    "at_clicks_total", "at_clicks_buffered", "at_postbacks_total", "at_flush_failures_total",
    "at_store_errors_total", "at_flush_entries_total", "at_flush_lag_seconds",
    # Tells process lifetimes apart: a restarted instance's counters start again at 0.
    "process_start_time_seconds",
}


class NoAnswer(Exception):
    """The request was (possibly) sent but no complete answer was read: the server may have acted on it."""


class NotSent(Exception):
    """No connection: the request never reached a server."""


BALANCER_ERROR_RE = re.compile(rb"^x-balancer-error:", re.I | re.M)
VIA_BALANCER = False


def balancer_error(status, head):
    """NoAnswer or NotSent for an error the balancer made itself (never for an instance's own answer)."""
    if not VIA_BALANCER or not BALANCER_ERROR_RE.search(head):
        return None
    return NoAnswer if status in (502, 504) else NotSent


class Conn:
    def __init__(self, base):
        u = urllib.parse.urlsplit(base)
        self.host, self.port = u.hostname, u.port
        self.r = self.w = None

    def close(self):
        if self.w is not None:
            try:
                self.w.close()
            except Exception:
                pass
        self.r = self.w = None

    async def get(self, path, ua="Mozilla/5.0 (X11; Linux x86_64) fault-suite", timeout=15.0):
        if self.w is None:
            try:
                self.r, self.w = await asyncio.wait_for(asyncio.open_connection(self.host, self.port), 3)
            except (OSError, asyncio.TimeoutError) as e:
                self.close()
                raise NotSent(str(e))
        try:
            self.w.write(f"GET {path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\nUser-Agent: {ua}\r\n\r\n".encode())
            await self.w.drain()
            return await asyncio.wait_for(self._read(), timeout)
        except (OSError, asyncio.TimeoutError, asyncio.IncompleteReadError, ValueError) as e:
            self.close()
            raise NoAnswer(type(e).__name__)

    async def _read(self):
        head = await self.r.readuntil(b"\r\n\r\n")
        status = int(head.split(b" ", 2)[1])
        lower = head.lower()
        body = b""
        m = re.search(rb"content-length:\s*(\d+)", lower)
        if m:
            body = await self.r.readexactly(int(m.group(1)))
        elif b"transfer-encoding: chunked" in lower:
            while True:
                size = int((await self.r.readuntil(b"\r\n")).split(b";")[0], 16)
                chunk = await self.r.readexactly(size + 2)
                if size == 0:
                    break
                body += chunk[:-2]
        if b"connection: close" in lower:
            self.close()
        return status, head, body


def postback_path(click_id, txid, status=None):
    path = f"/postback?click_id={click_id}&txid={urllib.parse.quote(txid)}&amount=10.00&token={TOKEN}"
    return path + f"&status={status}&reason=fault-suite" if status else path


def classify(status, body):
    """created / duplicate / updated, '503', or other:STATUS:error."""
    try:
        doc = json.loads(body or b"{}")
    except ValueError:
        doc = {}
    if status == 200 and doc.get("result"):
        return doc["result"], doc.get("conversion_id")
    if status == 503:
        return "503", None
    return f"other:{status}:{doc.get('error', '')}", None


class Pacer:
    """Spreads `rate` requests a second over all workers of one kind."""

    def __init__(self, rate):
        self.interval = 1.0 / rate if rate > 0 else 0
        self.next = time.monotonic()

    async def wait(self):
        now = time.monotonic()
        t = max(now, self.next)
        self.next = t + self.interval
        if t > now:
            await asyncio.sleep(t - now)


async def scrape(base):
    conn = Conn(base)
    try:
        status, _, body = await conn.get("/metrics", timeout=3)
    finally:
        conn.close()
    values = {}
    for line in body.decode().splitlines():
        if line.startswith("#"):
            continue
        name, _, value = line.rpartition(" ")
        # "name{} 1" and "name 1" are the same series (OpenTelemetry's exporter writes the braces).
        name = name.removesuffix("{}")
        if name.split("{")[0] in METRICS:
            values[name] = float(value)
    return values


async def load(args):
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    if args.duration:
        loop.call_later(args.duration, stop.set)

    clicks_for_postbacks = [l.strip() for l in open(args.clicks) if l.strip()] if args.clicks else []
    targets = args.metrics or args.base
    out = {
        "bases": args.base,
        "started": time.time(),
        "metrics_bases": targets,
        "clicks": {"sent": 0, "not_sent": 0, "no_answer": 0, "balancer": {}, "status": {}, "ids": {b: [] for b in args.base}},
        "postbacks": {"sent": 0, "not_sent": 0, "no_answer": 0, "balancer": {}, "answers": {}, "txids": {}, "rejects": {}},
        "metrics": [],
    }
    c, p = out["clicks"], out["postbacks"]
    created_txids = []
    seq = {"click": 0, "pb": 0}

    async def click_worker(i):
        base = args.base[i % len(args.base)]
        conn, pacer = Conn(base), click_pacer
        while not stop.is_set():
            await pacer.wait()
            if stop.is_set():
                break
            seq["click"] += 1
            path = f"/c/{args.link}?sub1=fault&sub2={seq['click']}"
            try:
                status, head, _ = await conn.get(path, ua=f"Mozilla/5.0 (X11; Linux x86_64) fault-{args.prefix}-{seq['click']}")
                failed = balancer_error(status, head)
                if failed:
                    c["balancer"][str(status)] = c["balancer"].get(str(status), 0) + 1
                    raise failed(f"balancer {status}")
            except NotSent:
                c["not_sent"] += 1
                await asyncio.sleep(0.2)
                continue
            except NoAnswer:
                c["sent"] += 1
                c["no_answer"] += 1
                await asyncio.sleep(0.2)
                continue
            c["sent"] += 1
            c["status"][str(status)] = c["status"].get(str(status), 0) + 1
            if status == 302:
                m = COOKIE_RE.search(head)
                c["ids"][base].append(m.group(1).decode() if m else "?")

    async def postback_worker(i):
        base = args.base[i % len(args.base)]
        conn = Conn(base)
        while not stop.is_set():
            await pb_pacer.wait()
            if stop.is_set():
                break
            seq["pb"] += 1
            status = None
            candidates = [t for t in created_txids if t not in p["rejects"]]
            if args.reject_every and seq["pb"] % args.reject_every == 0 and candidates:
                # The advertiser rejects an earlier conversion: a status change through the same stream.
                txid = random.choice(candidates)
                status, click = "rejected", p["txids"][txid]["click"]
                rec = p["rejects"].setdefault(txid, {"click": click, "answers": []})
            elif args.dup_every and seq["pb"] % args.dup_every == 0 and created_txids:
                # A repeat of an earlier created txid, as an advertiser's retry would send.
                txid = random.choice(created_txids)
                click = p["txids"][txid]["click"]
                rec = p["txids"][txid]
            else:
                txid = f"{args.prefix}-{seq['pb']}"
                click = clicks_for_postbacks[seq["pb"] % len(clicks_for_postbacks)]
                rec = p["txids"].setdefault(txid, {"click": click, "answers": []})
            try:
                code, head, body = await conn.get(postback_path(click, txid, status))
                failed = balancer_error(code, head)
                if failed:
                    p["balancer"][str(code)] = p["balancer"].get(str(code), 0) + 1
                    raise failed(f"balancer {code}")
            except NotSent:
                p["not_sent"] += 1
                rec["answers"].append("not_sent")
                await asyncio.sleep(0.2)
                continue
            except NoAnswer:
                p["sent"] += 1
                p["no_answer"] += 1
                rec["answers"].append("no_answer")
                await asyncio.sleep(0.2)
                continue
            p["sent"] += 1
            answer, conv = classify(code, body)
            p["answers"][answer] = p["answers"].get(answer, 0) + 1
            rec["answers"].append(answer)
            if answer == "created":
                rec.setdefault("created_ids", []).append(conv)
                created_txids.append(txid)

    async def scraper():
        while not stop.is_set():
            for base in targets:
                try:
                    out["metrics"].append({"t": time.time(), "base": base, "m": await scrape(base)})
                except (NoAnswer, NotSent, ValueError, IndexError):
                    out["metrics"].append({"t": time.time(), "base": base, "m": None})
            try:
                await asyncio.wait_for(stop.wait(), 1.0)
            except asyncio.TimeoutError:
                pass

    # The baseline before any request, so the server's counter deltas cover exactly this run.
    for base in targets:
        out["metrics"].append({"t": time.time(), "base": base, "m": await scrape(base)})
    click_pacer, pb_pacer = Pacer(args.click_rate), Pacer(args.postback_rate)
    workers = [asyncio.create_task(click_worker(i)) for i in range(args.click_conns)]
    if clicks_for_postbacks and args.postback_rate > 0:
        workers += [asyncio.create_task(postback_worker(i)) for i in range(args.postback_conns)]
    scraping = asyncio.create_task(scraper())
    await stop.wait()
    # Requests in flight finish (their answers count); a server that is gone ends them as no_answer.
    await asyncio.wait(workers, timeout=20)
    for w in workers:
        w.cancel()
    await asyncio.gather(scraping, return_exceptions=True)
    for base in targets:
        try:
            out["metrics"].append({"t": time.time(), "base": base, "m": await scrape(base)})
        except (NoAnswer, NotSent, ValueError, IndexError):
            pass
    out["stopped"] = time.time()
    with open(args.out, "w") as f:
        json.dump(out, f)


async def make_clicks(args):
    conn = Conn(args.base[0])
    for i in range(args.n):
        status, head, _ = await conn.get(f"/c/{args.link}?sub1=premade", ua=f"Mozilla/5.0 (X11; Linux x86_64) premade-{i}")
        m = COOKIE_RE.search(head)
        if status != 302 or not m:
            sys.exit(f"pre-made click {i}: HTTP {status}")
        print(m.group(1).decode())


async def retry(args):
    """An advertiser retries what got 503 or no answer until the tracker gives a definitive answer."""
    run = json.load(open(args.run))
    conn = Conn(args.base[0])
    todo = {("create", t): r for t, r in run["postbacks"]["txids"].items()
            if not any(a in ("created", "duplicate") for a in r["answers"])}
    todo.update({("reject", t): r for t, r in run["postbacks"]["rejects"].items()
                 if not any(a in ("updated", "duplicate") for a in r["answers"])})
    result = {"retried": len(todo), "answers": {}, "txids": {}, "rejects": {}}
    for _ in range(40):
        if not todo:
            break
        for (kind, txid), rec in list(todo.items()):
            try:
                code, head, body = await conn.get(postback_path(rec["click"], txid, "rejected" if kind == "reject" else None))
                if balancer_error(code, head):
                    raise NoAnswer(f"balancer {code}")
                answer, conv = classify(code, body)
            except (NoAnswer, NotSent):
                answer, conv = "no_answer", None
            out = result["txids" if kind == "create" else "rejects"].setdefault(txid, {"answers": []})
            out["answers"].append(answer)
            if answer == "created":
                out.setdefault("created_ids", []).append(conv)
            if answer in ("created", "duplicate", "updated") or answer.startswith("other:"):
                result["answers"][answer] = result["answers"].get(answer, 0) + 1
                del todo[(kind, txid)]
        if todo:
            await asyncio.sleep(0.5)
    result["unresolved"] = sorted(f"{k}:{t}" for k, t in todo)
    with open(args.out, "w") as f:
        json.dump(result, f)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("mode", choices=["load", "clicks", "retry"])
    ap.add_argument("--base", action="append", required=True)
    ap.add_argument("--link")
    ap.add_argument("--n", type=int, default=50)
    ap.add_argument("--clicks", help="file of pre-made click ids for postbacks")
    ap.add_argument("--prefix", default="t")
    ap.add_argument("--out")
    ap.add_argument("--run")
    ap.add_argument("--duration", type=float, default=0)
    ap.add_argument("--click-rate", type=float, default=150)
    ap.add_argument("--click-conns", type=int, default=8)
    ap.add_argument("--postback-rate", type=float, default=40)
    ap.add_argument("--postback-conns", type=int, default=4)
    ap.add_argument("--dup-every", type=int, default=10)
    ap.add_argument("--reject-every", type=int, default=25)
    ap.add_argument("--metrics", action="append", help="instance to scrape /metrics from (default: each --base)")
    ap.add_argument("--via-balancer", action="store_true", help="tell the balancer's own errors (X-Balancer-Error) from the instances' answers")
    args = ap.parse_args()
    global VIA_BALANCER
    VIA_BALANCER = args.via_balancer
    asyncio.run({"load": load, "clicks": make_clicks, "retry": retry}[args.mode](args))


if __name__ == "__main__":
    main()
