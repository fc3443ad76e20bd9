#!/usr/bin/env python3
"""Compare ANN bench results (JSON lines from `ann` and `peers.py`, any mix of engines).

    python benches/compare.py benches/results/20250101T000000Z.jsonl [more.jsonl ...]
    cat results.jsonl | python benches/compare.py
    python benches/compare.py --targets 0.9,0.95,0.99 a.jsonl -

Prints, per section (metric, M, efC, n, k):
  1. one table, a row per engine, filter (only when some rows are filtered), search
     threads and ef: recall, QPS, p50/p99 per-query latency (us), build s (build
     threads), RSS bytes/vector, and "QPS/hnswlib": for rows with recall >= 0.99
     (--ratio-recall), QPS divided by hnswlib's best QPS among its rows with recall
     >= 0.99 at the same search threads (and filter); "*" marks each engine's best
     such row, i.e. best-vs-best;
  2. scaling: per engine, best QPS at recall >= 0.99 with N search threads / with 1
     (our binary's N-thread runs are also N-shard runs);
  3. unfiltered rows only: per target recall, the QPS of each configuration at the
     lowest ef reaching it; kektordb/peer ratios (QPS at equal recall, build time,
     bytes/vector).
Lines that are not JSON objects are ignored; missing engines just leave their rows out.
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
    """(engine, precision, shards, build threads, search threads) for unfiltered rows."""
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
    return (r.get("metric", "?"), r.get("m", "?"), r.get("ef_construction", "?"), r.get("n"), r.get("k"))


ENGINE_ORDER = {OURS: 0, "hnswlib": 1, "faiss": 2, "usearch": 3, "qdrant-edge": 4}
REFERENCE = "hnswlib"


def engine_name(r):
    """Engine label without shards: 'hnswlib', 'kektordb f32' (peers are all f32)."""
    precision = r.get("precision", "f32")
    if r["engine"] == OURS or precision != "f32":
        return f"{r['engine']} {precision}"
    return r["engine"]


def sthreads(r):
    return r.get("search_threads", r.get("threads", 1)) or 1


def main_table(rows, ratio_recall):
    """Table 1 and the scaling lines."""
    rows_by_key = {}
    for r in rows:
        key = (r.get("filter"), engine_name(r), r.get("shards", 1), sthreads(r), r.get("threads"), r["ef"])
        if key in rows_by_key:
            print(f"compare.py: duplicate {key[1]} filter={key[0]} sh={key[2]} search threads {key[3]} "
                  f"ef={key[5]}, keeping the later one", file=sys.stderr)
        rows_by_key[key] = r
    rows = list(rows_by_key.values())
    rows.sort(key=lambda r: (r.get("filter") is not None, r.get("filter") or 0,
                             ENGINE_ORDER.get(r["engine"], 9), engine_name(r), sthreads(r),
                             r.get("shards", 1), r["ef"]))
    ok = lambda r: r["recall"] >= ratio_recall
    # hnswlib's best at recall >= target per (filter, search threads)
    ref = {}
    # each configuration's best row at recall >= target
    best = {}
    for r in rows:
        if not ok(r):
            continue
        g = (r.get("filter"), sthreads(r))
        if r["engine"] == REFERENCE and r.get("precision", "f32") == "f32":
            ref[g] = max(ref.get(g, 0), r["qps"])
        c = (r.get("filter"), engine_name(r), r.get("shards", 1), sthreads(r), r.get("threads"))
        if c not in best or r["qps"] > best[c]["qps"]:
            best[c] = r
    best_ids = {id(r) for r in best.values()}

    filtered = any(r.get("filter") is not None for r in rows)
    sharded = any(r.get("shards", 1) != 1 for r in rows)
    headers = ["engine"] + (["filter"] if filtered else []) + (["sh"] if sharded else []) + [
        "search thr", "ef", "recall", "QPS", "p50/p99 us", "build s (thr)", "RSS B/vec",
        f"QPS/{REFERENCE} @>={ratio_recall:g}"]
    body = []
    prev_group = None
    for r in rows:
        g = (r.get("filter"), engine_name(r))
        if prev_group is not None and g != prev_group and body:
            body.append(None)  # blank separator line
        prev_group = g
        cells = [engine_name(r)]
        if filtered:
            cells.append("-" if r.get("filter") is None else f"{r['filter']:g}")
        if sharded:
            cells.append(str(r.get("shards", 1)))
        lat = "-"
        if r.get("p50_us") is not None:
            lat = f"{r['p50_us']:,.0f}/{fmt(r.get('p99_us'), ',.0f')}"
        build = fmt(r.get("build_s"), ".2f")
        if r.get("threads") is not None and r.get("build_s") is not None:
            build += f" ({r['threads']})"
        rr = "-"
        ref_qps = ref.get((r.get("filter"), sthreads(r)))
        if ok(r) and ref_qps:
            rr = f"{r['qps'] / ref_qps:.2f}x" + ("*" if id(r) in best_ids else " ")
        elif ok(r):
            rr = f"no {REFERENCE}" + ("*" if id(r) in best_ids else " ")
        cells += [str(sthreads(r)), str(r["ef"]), fmt(r["recall"], ".4f"), fmt(r["qps"], ",.0f"), lat,
                  build, fmt(r.get("rss_anon_bytes_per_vector", r.get("rss_bytes_per_vector")), ",.0f"), rr]
        body.append(cells)
    table(headers, body)
    print(f"  QPS/{REFERENCE}: QPS of a row with recall >= {ratio_recall:g} over {REFERENCE}'s best QPS "
          f"with recall >= {ratio_recall:g} at the same search threads; * = the configuration's best row "
          f"(best vs best). RSS B/vec: resident memory added by the build, per vector "
          f"(ours: anonymous memory only; int8's paged rescoring copy is page cache, "
          f"rss_file_bytes_per_vector in the JSON).")

    # Scaling: best at recall >= target with N threads over the same with 1.
    per_engine = {}
    for (flt, name, _sh, st, _bt), r in best.items():
        cur = per_engine.setdefault((flt, name), {})
        if st not in cur or r["qps"] > cur[st]["qps"]:
            cur[st] = r
    groups = sorted(per_engine, key=lambda g: (g[0] is not None, g[0] or 0,
                                               ENGINE_ORDER.get(g[1].split()[0], 9), g[1]))
    lines = {}
    for flt, name in groups:
        by_t = per_engine[(flt, name)]
        if 1 not in by_t:
            continue
        for t in sorted(x for x in by_t if x > 1):
            one, many = by_t[1], by_t[t]
            note = ""
            if many.get("shards", 1) != one.get("shards", 1):
                note = f" (sh={many.get('shards', 1)} vs {one.get('shards', 1)})"
            lines.setdefault((flt, t), []).append(
                f"{name} {many['qps'] / one['qps']:.2f}x{note}")
    print()
    if not lines:
        print(f"scaling: no engine has rows with recall >= {ratio_recall:g} at 1 and more search threads")
    for (flt, t), parts in sorted(lines.items(), key=lambda kv: (kv[0][0] is not None, kv[0][0] or 0, kv[0][1])):
        where = "" if flt is None else f", filter {flt:g}"
        print(f"scaling (best QPS at recall >= {ratio_recall:g}, {t} search threads / 1{where}): "
              + ", ".join(parts))


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
    """body: rows of cells; None = an empty separator line."""
    widths = [len(h) for h in headers]
    for row in body:
        for i, c in enumerate(row or []):
            widths[i] = max(widths[i], len(c))
    aligns = aligns or ["<"] + [">"] * (len(headers) - 1)
    def line(cells):
        return "  ".join(format(c, f"{a}{w}") for c, a, w in zip(cells, aligns, widths)).rstrip()
    print(line(headers))
    print("  ".join("-" * w for w in widths))
    for row in body:
        print(line(row) if row is not None else "")


def first_value(rows, field):
    for r in rows:
        if r.get(field) is not None:
            return r[field]
    return None


def report(rows, targets, ratio_recall):
    main_table(rows, ratio_recall)
    rows = [r for r in rows if r.get("filter") is None]
    if not rows:
        return
    # configuration -> ef -> row (a later duplicate replaces an earlier one; main_table
    # already reported duplicates)
    configs = {}
    for r in rows:
        configs.setdefault(config_key(r), {})[r["ef"]] = r
    order = sorted(configs, key=lambda k: (k[0] != OURS, k[0], str(k[1]), str(k[2]), str(k[3]), str(k[4])))

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
    print("QPS at target recall (lowest ef reaching it; unfiltered; thr=build/search threads)")
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
    p.add_argument("--ratio-recall", type=float, default=0.99,
                   help="recall floor of the QPS/hnswlib column and the scaling line")
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
        metric, m, efc, n, k = sk
        if i:
            print()
        engines = sorted({r["engine"] for r in srows})
        head = f"== metric={metric} M={m} efC={efc}" + (f" n={n}" if n is not None else "") + \
            (f" k={k}" if k is not None else "")
        print(f"{head}  engines: {', '.join(engines)} ==")
        report(srows, targets, args.ratio_recall)


if __name__ == "__main__":
    main()
