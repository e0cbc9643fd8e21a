#!/usr/bin/env python3
"""Writes the soak report (Markdown) from drive.py's output; exits 1 if the
soak failed: an unexpected answer, the server died or did not stop cleanly,
or RSS or open descriptors grew after the warm-up."""
import argparse
import csv
import json
import os
import platform
import sys
import time

# Growth allowed between the warm-up window and the end of the run.
RSS_GROWTH_MAX_KIB = 8 * 1024
FD_GROWTH_MAX = 8


def mean(xs):
    return sum(xs) / len(xs) if xs else 0.0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--work", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--plot", required=True)
    ap.add_argument("--alive", required=True)
    ap.add_argument("--stop-status", type=int, required=True)
    ap.add_argument("--flaps", type=int, default=0)
    ap.add_argument("--file-reloads", type=int, default=0)
    ap.add_argument("--sighups", type=int, default=0)
    a = ap.parse_args()

    with open(os.path.join(a.work, "summary.json")) as f:
        s = json.load(f)
    with open(os.path.join(a.work, "samples.csv")) as f:
        rows = [(float(r["t"]), int(r["rss_kib"]), int(r["fds"]), int(r["requests"]))
                for r in csv.DictReader(f)]
    with open(os.path.join(a.work, "serve.log"), errors="replace") as f:
        log = f.read().splitlines()

    # Warm-up: the first 10% of the run (pools, caches and the allocator
    # settle); compared with the last 10%.
    n = len(rows)
    tenth = max(1, n // 10)
    warm = rows[tenth:2 * tenth] or rows
    end = rows[-tenth:] or rows
    rss_warm, rss_end = mean([r[1] for r in warm]), mean([r[1] for r in end])
    fd_warm, fd_end = mean([r[2] for r in warm]), mean([r[2] for r in end])
    rss_growth = rss_end - rss_warm
    fd_growth = fd_end - fd_warm

    unexpected = 0
    route_rows = []
    for name, r in s["routes"].items():
        allowed = set(r["allowed"])
        got = {int(k): v for k, v in r["statuses"].items()}
        bad = sum(v for k, v in got.items() if k not in allowed)
        unexpected += bad
        shown = ", ".join(f"{k}: {v}" for k, v in sorted(got.items())) or "-"
        route_rows.append(f"| {name} | {', '.join(map(str, sorted(allowed)))} | {shown} | {bad} "
                          f"| {r['p50_ms']} | {r['p99_ms']} |")
    errors = s["errors"]
    total_errors = sum(errors.values())

    failures = []
    if total_errors:
        failures.append(f"{total_errors} unexpected answers or connection errors")
    if a.alive != "yes":
        failures.append("jinn died during the run")
    if a.stop_status != 0:
        failures.append(f"jinn exited with status {a.stop_status} on SIGTERM")
    if rss_growth > RSS_GROWTH_MAX_KIB:
        failures.append(f"RSS grew by {rss_growth / 1024:.1f} MiB after the warm-up")
    if fd_growth > FD_GROWTH_MAX:
        failures.append(f"open descriptors grew by {fd_growth:.1f} after the warm-up")

    reload_lines = [l for l in log if "reload" in l.lower()]
    log_errors = [l for l in log if "error" in l.lower() or "fail" in l.lower()]

    seconds = s["seconds"]
    md = []
    md.append(f"# Soak {time.strftime('%Y-%m-%d %H:%M')}: "
              f"{'PASS' if not failures else 'FAIL'}\n")
    md.append("Produced by `bench/soak/run.sh` (see bench/soak/README.md): `jinn serve` with one "
              "route per kind of outcome, a proxied upstream that is up 3 s and down 2 s, the "
              "function file of `/good` replaced every 5 s and a SIGHUP every 20 s, a deploy API "
              "step every 2 s (replace, add, list, refused upload, delete, no token), "
              f"{s['threads']} client threads each with one request in flight.\n")
    md.append(f"- machine: {platform.node()}, {os.cpu_count()} CPUs, load average at the end "
              f"{os.getloadavg()[0]:.2f}")
    md.append(f"- duration: {seconds:.0f} s; requests: {s['requests']} "
              f"({s['requests'] / max(seconds, 1):.0f}/s)")
    md.append(f"- faults: {a.flaps} upstream stops, {a.file_reloads} function file changes, "
              f"{a.sighups} SIGHUPs, {sum(s.get('deploys', {}).values())} deploy API requests; "
              f"{len(reload_lines)} reload lines in the server log")
    cut = s.get("cut_by_upstream_stop", {})
    md.append(f"- proxied answers cut off by an upstream stop during the request (expected: "
              f"the head was out, jinn closed the connection): {sum(cut.values())} "
              f"({', '.join(f'{k}: {v}' for k, v in sorted(cut.items())) or 'none'})")
    md.append(f"- unexpected answers: **{unexpected}**; connection errors: "
              f"**{total_errors - unexpected}**")
    md.append(f"- RSS: {rss_warm / 1024:.1f} MiB after warm-up, {rss_end / 1024:.1f} MiB at the "
              f"end (growth {rss_growth / 1024:+.1f} MiB; min {min(r[1] for r in rows) / 1024:.1f}, "
              f"max {max(r[1] for r in rows) / 1024:.1f})" if rows else "- RSS: no samples")
    md.append(f"- open fds: {fd_warm:.1f} after warm-up, {fd_end:.1f} at the end (growth "
              f"{fd_growth:+.1f}; min {min(r[2] for r in rows)}, max {max(r[2] for r in rows)})"
              if rows else "- open fds: no samples")
    md.append(f"- server: {'alive' if a.alive == 'yes' else 'DIED'} at the end, SIGTERM exit "
              f"status {a.stop_status}")
    if failures:
        md.append("\n**Failed:** " + "; ".join(failures) + ".")
    md.append("\n## Answers by route\n")
    md.append("| route | expected | got (status: count) | unexpected | p50 ms | p99 ms |")
    md.append("|---|---|---|---|---|---|")
    md.extend(route_rows)
    md.append("\n## Errors by kind\n")
    if errors:
        md.append("| kind | count | first example |")
        md.append("|---|---|---|")
        for kind, count in sorted(errors.items(), key=lambda kv: -kv[1]):
            example = s["error_examples"].get(kind, "").replace("|", "\\|").replace("\n", " ")[:120]
            md.append(f"| {kind} | {count} | {example} |")
    else:
        md.append("None.")
    md.append("\n## RSS and open descriptors\n")
    md.append(f"![RSS and open fds over time]({a.plot})\n")
    md.append("Samples every second (the numbers: "
              f"`{os.path.basename(a.out)[:-3]}.csv`); growth compares the mean of the second "
              "tenth of the run with the mean of the last tenth (allowed: "
              f"{RSS_GROWTH_MAX_KIB // 1024} MiB RSS, {FD_GROWTH_MAX} fds).\n")
    md.append("## Server log\n")
    md.append(f"{len(log)} lines; {len(log_errors)} mention an error or failure. First lines of "
              "each kind:\n")
    md.append("```")
    seen = set()
    for l in log:
        key = l.split(":")[0][:40]
        if key not in seen:
            seen.add(key)
            md.append(l[:200])
        if len(seen) >= 15:
            break
    md.append("```")
    with open(a.out, "w") as f:
        f.write("\n".join(md) + "\n")
    print(f"soak: report in {a.out}: {'PASS' if not failures else 'FAIL: ' + '; '.join(failures)}")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
