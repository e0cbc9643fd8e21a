#!/usr/bin/env python3
"""Soak driver: mixed traffic against a running `jinn serve`, with samples.

Runs THREADS client threads for SECONDS, each sending one request at a time
on a keep-alive connection (bounded load), rotating over the routes of
bench/soak/run.sh's config. Every answer is checked against the statuses the
route may give; anything else (another status, a wrong body, a broken
connection) is an error of its kind. A sampler thread reads the server's RSS
(/proc/PID/status) and open descriptors (/proc/PID/fd) every second.

Writes OUT_DIR/samples.csv (t, rss_kib, fds, requests so far) and
OUT_DIR/summary.json. Python 3 standard library only.
"""
import argparse
import http.client
import json
import os
import threading
import time
from collections import Counter, defaultdict

# (name, method, path, body, allowed statuses, body check or None)
# /good answers "version 1" or "version 2": run.sh swaps the file under it.
ROUTES = [
    ("good", "GET", "/good", None, {200}, lambda b: b in (b"version 1", b"version 2")),
    ("echo", "POST", "/echo", b'{"order":42}', {200}, lambda b: b'{\\"order\\":42}' in b),
    ("middleware", "POST", "/mw", b"original", {200}, lambda b: b"replaced by middleware" in b),
    ("trap", "GET", "/trap", None, {500}, lambda b: b"trap: unreachable" in b),
    ("spin", "GET", "/spin", None, {504}, lambda b: b"timed out" in b),
    ("oom", "GET", "/oom", None, {500}, lambda b: b"memory limit" in b),
    ("flood", "GET", "/flood", None, {502}, lambda b: b"too large" in b),
    # The upstream flaps: up it answers 200, down the proxy answers 502.
    ("proxy", "GET", "/proxy/hello.txt", None, {200, 502}, None),
    ("proxy_mw", "GET", "/mwproxy/hello.txt", None, {200, 502}, None),
    ("no_route", "GET", "/nowhere", None, {404}, None),
]
# How often each route comes up in a thread's rotation.
WEIGHTS = {"good": 6, "echo": 4, "middleware": 2, "trap": 2, "spin": 1, "oom": 1,
           "flood": 1, "proxy": 3, "proxy_mw": 2, "no_route": 1}


def sample(pid):
    rss = 0
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                rss = int(line.split()[1])
    fds = len(os.listdir(f"/proc/{pid}/fd"))
    return rss, fds


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--pid", type=int, required=True)
    ap.add_argument("--seconds", type=float, required=True)
    ap.add_argument("--threads", type=int, default=4)
    ap.add_argument("--out", required=True)
    args = ap.parse_args()

    lock = threading.Lock()
    statuses = defaultdict(Counter)   # route -> status -> count
    errors = Counter()                # kind -> count
    examples = {}                     # kind -> first example
    latency = defaultdict(list)       # route -> seconds (sampled)
    total = [0]
    stop_at = time.monotonic() + args.seconds

    rotation = [r for r in ROUTES for _ in range(WEIGHTS[r[0]])]

    def error(kind, detail):
        with lock:
            errors[kind] += 1
            examples.setdefault(kind, detail)

    def client(index):
        conn = None
        i = index * 7
        while time.monotonic() < stop_at:
            name, method, path, body, allowed, check = rotation[i % len(rotation)]
            i += 1
            if conn is None:
                conn = http.client.HTTPConnection("127.0.0.1", args.port, timeout=30)
            started = time.monotonic()
            try:
                conn.request(method, path, body=body,
                             headers={"Content-Type": "application/json"} if body else {})
                resp = conn.getresponse()
                data = resp.read()
                status = resp.status
                closing = resp.will_close
            except (OSError, http.client.HTTPException) as e:
                error(f"{name}: connection error", f"{type(e).__name__}: {e}")
                conn.close()
                conn = None
                continue
            took = time.monotonic() - started
            with lock:
                statuses[name][status] += 1
                total[0] += 1
                if len(latency[name]) < 20000:
                    latency[name].append(took)
            if status not in allowed:
                error(f"{name}: unexpected status {status}", data[:200].decode("latin-1"))
            elif check and status == min(allowed) and not check(data):
                error(f"{name}: unexpected body", data[:200].decode("latin-1"))
            if closing:
                conn.close()
                conn = None

    samples = []

    def sampler():
        t0 = time.monotonic()
        while time.monotonic() < stop_at:
            try:
                rss, fds = sample(args.pid)
            except OSError as e:
                error("server: gone", str(e))
                return
            with lock:
                samples.append((round(time.monotonic() - t0, 1), rss, fds, total[0]))
            time.sleep(1)

    threads = [threading.Thread(target=client, args=(i,)) for i in range(args.threads)]
    threads.append(threading.Thread(target=sampler))
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    with open(os.path.join(args.out, "samples.csv"), "w") as f:
        f.write("t,rss_kib,fds,requests\n")
        for row in samples:
            f.write(",".join(str(x) for x in row) + "\n")

    def pct(values, p):
        if not values:
            return 0.0
        values = sorted(values)
        return values[min(len(values) - 1, int(p * len(values)))]

    summary = {
        "seconds": args.seconds,
        "threads": args.threads,
        "requests": total[0],
        "routes": {name: {"allowed": sorted(allowed),
                          "statuses": dict(statuses[name]),
                          "p50_ms": round(pct(latency[name], 0.5) * 1000, 2),
                          "p99_ms": round(pct(latency[name], 0.99) * 1000, 2)}
                   for name, _, _, _, allowed, _ in ROUTES},
        "errors": dict(errors),
        "error_examples": examples,
    }
    with open(os.path.join(args.out, "summary.json"), "w") as f:
        json.dump(summary, f, indent=1)
    print(f"drive: {total[0]} requests, {sum(errors.values())} errors")


if __name__ == "__main__":
    main()
