#!/usr/bin/env python3
"""Soak driver: mixed traffic against a running `jinn serve`, with samples.

Runs THREADS client threads for SECONDS, each sending one request at a time
on a keep-alive connection (bounded load), rotating over the routes of
bench/soak/run.sh's config. Every answer is checked against the statuses the
route may give; anything else (another status, a wrong body, a broken
connection) is an error of its kind. A sampler thread reads the server's RSS
(/proc/PID/status) and open descriptors (/proc/PID/fd) every second.

A deployer thread uses the deploy API of the admin listener every 2 s, in a
cycle: replace soak/fixed.wasm with the other build, add soak/churn.wasm,
list, upload a truncated module over soak/fixed.wasm (refused, the live
version keeps serving), delete soak/churn.wasm, and a PUT without the token.
Each step's status is checked like a route's; the client routes
/t/soak/fixed (always there, never refused) and /t/soak/churn (there or not)
check what the deploys did.

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

# The body of /big's request: /echo answers with the envelope, which holds
# it, so the answer is a little larger (a huge output within stdout_max).
BIG_BODY = b"b" * (768 * 1024)
VERSIONS = (b"version 1", b"version 2")

# (name, method, path, body, allowed statuses, body check or None)
# /good answers "version 1" or "version 2": run.sh swaps the file under it;
# the deployer does the same to /t/soak/fixed through the deploy API.
ROUTES = [
    ("good", "GET", "/good", None, {200}, lambda b: b in VERSIONS),
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
    ("big", "POST", "/big", BIG_BODY, {200}, lambda b: len(b) > len(BIG_BODY) and BIG_BODY[:4096] in b),
    ("deployed", "GET", "/t/soak/fixed", None, {200}, lambda b: b in VERSIONS),
    # Deleted and put back by the deployer: 404 in between.
    ("churn", "GET", "/t/soak/churn", None, {200, 404}, lambda b: b in VERSIONS),
]
# The deployer's cycle: (name, method, function path or None for the list,
# which module body, whether the token is sent, allowed statuses).
DEPLOY_STEPS = [
    ("deploy: replace", "PUT", "soak/fixed.wasm", "other", True, {200}),
    ("deploy: add", "PUT", "soak/churn.wasm", "v1", True, {201}),
    ("deploy: list", "GET", None, None, True, {200}),
    ("deploy: bad module", "PUT", "soak/fixed.wasm", "truncated", True, {400}),
    ("deploy: delete", "DELETE", "soak/churn.wasm", None, True, {204}),
    ("deploy: no token", "PUT", "soak/fixed.wasm", "v1", False, {401}),
]
DEPLOY_INTERVAL_S = 2.0
# Responses from upstreams stream: when run.sh stops the upstream while it
# sends a body, jinn has already sent the head and can only close the
# connection (the client reads too few body bytes). That is expected if, and
# only if, a stop fell inside the request; any other broken answer is an
# error.
PROXY_ROUTES = {"proxy", "proxy_mw"}
STOP_SLACK_S = 0.2

# How often each route comes up in a thread's rotation.
WEIGHTS = {"good": 6, "echo": 4, "middleware": 2, "trap": 2, "spin": 1, "oom": 1,
           "flood": 1, "proxy": 3, "proxy_mw": 2, "no_route": 1, "big": 1, "deployed": 3,
           "churn": 2}


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
    ap.add_argument("--admin-port", type=int, required=True)
    ap.add_argument("--token", required=True)
    ap.add_argument("--v1", required=True, help="serve_v1.wasm")
    ap.add_argument("--v2", required=True, help="serve_v2.wasm")
    ap.add_argument("--flaps-file", required=True,
                    help="run.sh's upstream stop times, one Unix time per line")
    args = ap.parse_args()
    with open(args.v1, "rb") as f:
        v1 = f.read()
    with open(args.v2, "rb") as f:
        v2 = f.read()

    lock = threading.Lock()
    statuses = defaultdict(Counter)   # route -> status -> count
    errors = Counter()                # kind -> count
    examples = {}                     # kind -> first example
    latency = defaultdict(list)       # route -> seconds (sampled)
    total = [0]
    stop_at = time.monotonic() + args.seconds

    rotation = [r for r in ROUTES for _ in range(WEIGHTS[r[0]])]
    # Proxied answers whose body broke off: (start, end, route, error).
    cut = []

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
            started_wall = time.time()
            try:
                conn.request(method, path, body=body,
                             headers={"Content-Type": "application/json"} if body else {})
                resp = conn.getresponse()
                data = resp.read()
                status = resp.status
                closing = resp.will_close
            except (OSError, http.client.HTTPException) as e:
                if name in PROXY_ROUTES and isinstance(e, http.client.IncompleteRead):
                    # Judged after the run, against the times of the stops.
                    with lock:
                        cut.append((started_wall, time.time(), name, f"{type(e).__name__}: {e}"))
                else:
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

    deploys = Counter()               # step -> count

    def deploy_request(name, method, path, body, token, allowed):
        conn = http.client.HTTPConnection("127.0.0.1", args.admin_port, timeout=120)
        target = "/v1/functions" + (f"/{path}" if path else "")
        headers = {"Authorization": f"Bearer {args.token}"} if token else {}
        started = time.monotonic()
        try:
            conn.request(method, target, body=body, headers=headers)
            resp = conn.getresponse()
            data = resp.read()
        except (OSError, http.client.HTTPException) as e:
            error(f"{name}: connection error", f"{type(e).__name__}: {e}")
            return None
        finally:
            conn.close()
        took = time.monotonic() - started
        with lock:
            statuses[name][resp.status] += 1
            latency[name].append(took)
            deploys[name] += 1
        if resp.status not in allowed:
            error(f"{name}: unexpected status {resp.status}", data[:200].decode("latin-1"))
        elif name == "deploy: list":
            try:
                listed = {entry["path"] for entry in json.loads(data)}
            except (ValueError, KeyError, TypeError) as e:
                error(f"{name}: unexpected body", f"{e}: {data[:200].decode('latin-1')}")
            else:
                if "soak/fixed.wasm" not in listed:
                    error(f"{name}: unexpected body", data[:200].decode("latin-1"))
        return resp.status

    def deployer():
        n = 0
        while time.monotonic() < stop_at:
            time.sleep(DEPLOY_INTERVAL_S)
            name, method, path, which, token, allowed = DEPLOY_STEPS[n % len(DEPLOY_STEPS)]
            if which == "other":
                n_replace = n // len(DEPLOY_STEPS)
                body = v2 if n_replace % 2 == 0 else v1
            else:
                body = {"v1": v1, "truncated": v1[: len(v1) // 2], None: None}[which]
            deploy_request(name, method, path, body, token, allowed)
            n += 1

    # soak/fixed.wasm exists before any client asks for it.
    deploy_request("deploy: first", "PUT", "soak/fixed.wasm", v1, True, {201})

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
    threads.append(threading.Thread(target=deployer))
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    try:
        with open(args.flaps_file) as f:
            stops = [float(line) for line in f if line.strip()]
    except OSError:
        stops = []
    cut_by_stop = Counter()
    for begun, ended, name, detail in cut:
        if any(begun - STOP_SLACK_S <= t <= ended + STOP_SLACK_S for t in stops):
            cut_by_stop[name] += 1
        else:
            error(f"{name}: connection error", detail + " (no upstream stop during the request)")

    with open(os.path.join(args.out, "samples.csv"), "w") as f:
        f.write("t,rss_kib,fds,requests\n")
        for row in samples:
            f.write(",".join(str(x) for x in row) + "\n")

    def pct(values, p):
        if not values:
            return 0.0
        values = sorted(values)
        return values[min(len(values) - 1, int(p * len(values)))]

    route_allowed = [(r[0], r[4]) for r in ROUTES] + [("deploy: first", {201})] + \
        [(d[0], d[5]) for d in DEPLOY_STEPS]
    summary = {
        "seconds": args.seconds,
        "threads": args.threads,
        "requests": total[0],
        "routes": {name: {"allowed": sorted(allowed),
                          "statuses": dict(statuses[name]),
                          "p50_ms": round(pct(latency[name], 0.5) * 1000, 2),
                          "p99_ms": round(pct(latency[name], 0.99) * 1000, 2)}
                   for name, allowed in route_allowed},
        "deploys": dict(deploys),
        "cut_by_upstream_stop": dict(cut_by_stop),
        "errors": dict(errors),
        "error_examples": examples,
    }
    with open(os.path.join(args.out, "summary.json"), "w") as f:
        json.dump(summary, f, indent=1)
    print(f"drive: {total[0]} requests, {sum(errors.values())} errors")


if __name__ == "__main__":
    main()
