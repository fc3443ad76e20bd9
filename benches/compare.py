#!/usr/bin/env python3
"""Compare ANN bench results (JSON lines from `ann` and `peers.py`, any mix of engines).

    python benches/compare.py benches/results/20250101T000000Z.jsonl [more.jsonl ...]
    cat results.jsonl | python benches/compare.py
    python benches/compare.py --targets 0.9,0.95,0.99 a.jsonl -

Prints per configuration and ef: recall, QPS, build_s, bytes/vector; then, per target
recall, the QPS of each configuration at the lowest ef reaching it; then kektordb/peer
ratios (QPS at equal recall, build time, bytes/vector). Lines that are not JSON objects
are ignored; missing engines just leave their rows out.
"""

import argparse
import json
import signal
import sys

OURS = "kektordb"


def read_rows(sources):
    rows = []
    for src in sources:
        fh = sys.stdin if src == "-" else open(src, encoding="utf-8")
        name = "<stdin>" if src == "-" else src
        with fh if src != "-" else _nullctx(fh):
            for lineno, line in enumerate(fh, 1):
                line = line.strip()
                if not line.startswith("{"):
                    continue
                try:
                    r = json.loads(line)
                except json.JSONDecodeError as e:
                    print(f"compare.py: {name}:{lineno}: bad JSON ({e}), skipped", file=sys.stderr)
                    continue
                missing = [f for f in ("engine", "ef", "recall", "qps") if f not in r]
                if missing:
                    print(f"compare.py: {name}:{lineno}: missing {', '.join(missing)}, skipped",
                          file=sys.stderr)
                    continue
                rows.append(r)
    return rows


class _nullctx:
    def __init__(self, fh):
        self.fh = fh

    def __enter__(self):
        return self.fh

    def __exit__(self, *exc):
        return False


def config_key(r):
    threads = r.get("threads")
    return (
        r["engine"],
        r.get("precision", "?"),
        r.get("shards", 1),
        threads,
        r.get("search_threads", threads),
    )


def label(key):
    engine, precision, shards, threads, sthreads = key
    return f"{engine} {precision} sh={shards} thr={threads}/{sthreads}"


def section_key(r):
    # not "k": our binary does not print it; peers.py does
    return (r.get("metric", "?"), r.get("m", "?"), r.get("ef_construction", "?"))


def fmt(x, spec):
    if x is None:
        return "-"
    try:
        return format(x, spec)
    except (TypeError, ValueError):
        return str(x)


def ratio(a, b):
    if a is None or b is None or b == 0:
        return None
    return a / b


def table(headers, body, aligns=None):
    widths = [len(h) for h in headers]
    for row in body:
        for i, c in enumerate(row):
            widths[i] = max(widths[i], len(c))
    aligns = aligns or ["<"] + [">"] * (len(headers) - 1)
    def line(cells):
        return "  ".join(format(c, f"{a}{w}") for c, a, w in zip(cells, aligns, widths)).rstrip()
    print(line(headers))
    print("  ".join("-" * w for w in widths))
    for row in body:
        print(line(row))


def first_value(rows, field):
    for r in rows:
        if r.get(field) is not None:
            return r[field]
    return None


def report(rows, targets):
    # configuration -> ef -> row (a later duplicate replaces an earlier one)
    configs = {}
    for r in rows:
        per_ef = configs.setdefault(config_key(r), {})
        if r["ef"] in per_ef:
            print(f"compare.py: duplicate {label(config_key(r))} ef={r['ef']}, keeping the later one",
                  file=sys.stderr)
        per_ef[r["ef"]] = r
    order = sorted(configs, key=lambda k: (k[0] != OURS, k[0], str(k[1]), str(k[2]), str(k[3])))

    body = []
    for key in order:
        for ef in sorted(configs[key]):
            r = configs[key][ef]
            body.append([label(key), str(ef), fmt(r["recall"], ".4f"), fmt(r["qps"], ",.0f"),
                         fmt(r.get("build_s"), ".2f"), fmt(r.get("bytes_per_vector"), ",.0f")])
    table(["config (thr=build/search)", "ef", "recall", "qps", "build_s", "bytes/vec"], body)

    # QPS at target recall: lowest ef whose recall reaches the target.
    at = {}
    for key in order:
        for t in targets:
            hit = None
            for ef in sorted(configs[key]):
                if configs[key][ef]["recall"] >= t:
                    hit = configs[key][ef]
                    break
            at[(key, t)] = hit
    print()
    print("QPS at target recall (lowest ef reaching it)")
    body = []
    for key in order:
        cells = [label(key)]
        for t in targets:
            hit = at[(key, t)]
            cells.append(f"{hit['qps']:,.0f} (ef {hit['ef']})" if hit else "not reached")
        body.append(cells)
    table(["config"] + [f"recall>={t:g}" for t in targets], body)

    ours = [k for k in order if k[0] == OURS]
    peers = [k for k in order if k[0] != OURS]
    print()
    if not ours or not peers:
        missing = "kektordb" if not ours else "peer"
        print(f"kektordb/peer ratios: no {missing} rows, skipped")
        return
    print("kektordb/peer ratios (qps: >1 = kektordb faster; build_s, bytes/vec: <1 = kektordb better)")
    body = []
    notes = set()
    for o in ours:
        orows = [configs[o][ef] for ef in sorted(configs[o])]
        for p in peers:
            prows = [configs[p][ef] for ef in sorted(configs[p])]
            cells = [label(o), label(p)]
            for t in targets:
                a, b = at[(o, t)], at[(p, t)]
                if a is None and b is None:
                    cells.append("neither")
                elif a is None:
                    cells.append("ours n/r")
                elif b is None:
                    cells.append("peer n/r")
                else:
                    cells.append(f"{a['qps'] / b['qps']:.2f}x")
            flag = ""
            if o[4] != p[4]:
                flag += "S"
                notes.add("S: search threads differ, QPS ratio not like-for-like")
            if o[3] != p[3]:
                flag += "B"
                notes.add("B: build threads differ, build_s ratio not like-for-like")
            cells.append(fmt(ratio(first_value(orows, "build_s"), first_value(prows, "build_s")), ".2f"))
            cells.append(fmt(ratio(first_value(orows, "bytes_per_vector"),
                                   first_value(prows, "bytes_per_vector")), ".2f"))
            cells.append(flag)
            body.append(cells)
    table(["kektordb", "peer"] + [f"qps@{t:g}" for t in targets] + ["build_s", "bytes/vec", "note"],
          body, ["<", "<"] + [">"] * (len(targets) + 2) + ["<"])
    for n in sorted(notes):
        print(f"  {n}")


def main():
    if hasattr(signal, "SIGPIPE"):
        signal.signal(signal.SIGPIPE, signal.SIG_DFL)  # quiet exit under `| head`
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("files", nargs="*", help="JSON-lines files; '-' or none = stdin")
    p.add_argument("--targets", default="0.95,0.98,0.99", help="comma-separated target recalls")
    args = p.parse_args()
    targets = [float(t) for t in args.targets.split(",") if t.strip()]

    rows = read_rows(args.files or ["-"])
    if not rows:
        print("compare.py: no result rows found")
        return

    sections = {}
    for r in rows:
        sections.setdefault(section_key(r), []).append(r)
    for i, (sk, srows) in enumerate(sorted(sections.items(), key=lambda kv: str(kv[0]))):
        metric, m, efc = sk
        if i:
            print()
        engines = sorted({r["engine"] for r in srows})
        ks = sorted({r["k"] for r in srows if "k" in r})
        head = f"== metric={metric} M={m} efC={efc}" + (f" k={','.join(map(str, ks))}" if ks else "")
        print(f"{head}  engines: {', '.join(engines)} ==")
        report(srows, targets)


if __name__ == "__main__":
    main()
