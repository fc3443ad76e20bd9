"""Data, ground truth and memory readings for benches/peers.py (see its docstring)."""

import gc
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time

import numpy as np


# ---------------------------------------------------------------- data and truth

def read_vecs(path, kind):
    """The rows of a .fvecs ("fvecs", float32) or .ivecs ("ivecs", int32) file."""
    raw = np.fromfile(path, dtype=np.int32)
    if raw.size == 0:
        raise SystemExit(f"{path}: empty file")
    d = int(raw[0])
    if d <= 0 or raw.size % (d + 1) != 0:
        raise SystemExit(f"{path}: not a valid .{kind} file (dim {d}, {raw.size} words)")
    rows = raw.reshape(-1, d + 1)
    if kind == "fvecs" and not np.all(rows[:, 0] == d):
        raise SystemExit(f"{path}: rows with differing dimensions")
    body = rows[:, 1:]
    return np.ascontiguousarray(body.view(np.float32) if kind == "fvecs" else body)


def read_fvecs(path):
    return read_vecs(path, "fvecs")


def read_ivecs(path):
    return read_vecs(path, "ivecs")


def write_ivecs(path, ids):
    ids = np.asarray(ids, dtype=np.int32)
    out = np.empty((ids.shape[0], ids.shape[1] + 1), dtype=np.int32)
    out[:, 0] = ids.shape[1]
    out[:, 1:] = ids
    tmp = f"{path}.tmp{os.getpid()}"
    out.tofile(tmp)
    os.replace(tmp, path)


def dist_version(name):
    try:
        from importlib.metadata import version
        return version(name)
    except Exception:
        return None


def normalize(x):
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return np.ascontiguousarray((x / norms).astype(np.float32))


def exact_topk(base, queries, k, metric, ids=None, chunk=256):
    """Exact top-k (ids into the full base) of each query over `base` (or over the rows
    `ids` of it). Cosine: dot product of normalized vectors."""
    sub = base if ids is None else base[ids]
    if metric == "cosine":
        sub, queries = normalize(sub), normalize(queries)
    k_eff = min(k, len(sub))
    sq = (sub.astype(np.float32) ** 2).sum(axis=1) if metric == "euclidean" else None
    out = np.full((len(queries), k), -1, dtype=np.int64)
    for a in range(0, len(queries), chunk):
        q = queries[a:a + chunk]
        score = q @ sub.T  # larger = closer
        if metric == "euclidean":
            score = 2.0 * score - sq[None, :]  # -(|x|^2 - 2 q.x), |q|^2 is constant per row
        if k_eff < sub.shape[0]:
            part = np.argpartition(-score, k_eff - 1, axis=1)[:, :k_eff]
        else:
            part = np.tile(np.arange(sub.shape[0]), (len(q), 1))
        order = np.argsort(-np.take_along_axis(score, part, axis=1), axis=1, kind="stable")
        top = np.take_along_axis(part, order, axis=1)
        out[a:a + len(q), :k_eff] = top if ids is None else ids[top]
    return out


def filter_buckets(args, sel):
    """Buckets allowed by selectivity `sel`: bucket < B."""
    return int(round(sel * args.filter_buckets))


def allowed_mask(args, n, sel):
    return (np.arange(n) % args.filter_buckets) < filter_buckets(args, sel)


def recall_at_k(found, truth, k):
    """found: list of id sequences (one per query); truth: (nq, >=k) ids, -1 = none."""
    hits = 0
    total = 0
    for ids, t in zip(found, truth):
        want = set(int(x) for x in t[:k] if x >= 0)
        total += len(want)
        hits += len(set(int(i) for i in list(ids)[:k] if i >= 0) & want)
    return hits / total if total else 0.0


def load_data(args):
    base = read_fvecs(args.base)
    if args.limit:
        if args.limit > len(base):
            print(f"peers.py: --limit {args.limit} > base size {len(base)}, using all", file=sys.stderr)
        base = np.ascontiguousarray(base[: args.limit])
    queries = read_fvecs(args.queries)
    if base.shape[1] != queries.shape[1]:
        raise SystemExit(f"dimension mismatch: base {base.shape[1]}, queries {queries.shape[1]}")
    return base, queries


def compute_truths(args, base, queries):
    """{None: unfiltered truth, sel: filtered truth, ...}, each (nq, k) ids."""
    truths = {}
    if args.gt and not args.limit:
        gt = read_ivecs(args.gt)
        if gt.shape[0] != queries.shape[0] or gt.shape[1] < args.k:
            raise SystemExit(f"gt shape {gt.shape} does not fit {queries.shape[0]} queries and k={args.k}")
        truths[None] = gt[:, : args.k]
    else:
        why = f"--limit {args.limit}" if args.limit else "no --gt"
        t0 = time.perf_counter()
        truths[None] = exact_topk(base, queries, args.k, args.metric)
        print(f"peers.py: ground truth by brute force ({why}): {time.perf_counter() - t0:.1f}s",
              file=sys.stderr)
    if args.filter_buckets:
        for sel in args.selectivities:
            ids = np.nonzero(allowed_mask(args, len(base), sel))[0]
            truths[sel] = exact_topk(base, queries, args.k, args.metric, ids=ids)
    return truths


def save_truths(path, truths):
    arrays = {("none" if key is None else repr(key)): v for key, v in truths.items()}
    np.savez(path, **arrays)


def load_truths(path):
    with np.load(path) as z:
        return {(None if key == "none" else float(key)): z[key] for key in z.files}


# ---------------------------------------------------------------- memory

def rss_bytes():
    """VmRSS of this process in bytes (Linux; 0 elsewhere)."""
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


_libc = None


def settled_rss():
    """VmRSS after a garbage collection and malloc_trim(0), so that memory freed before
    (temporaries of loading and normalizing) is not reused by the build unseen."""
    global _libc
    gc.collect()
    try:
        if _libc is None:
            import ctypes
            _libc = ctypes.CDLL("libc.so.6")
        _libc.malloc_trim(0)
    except (OSError, AttributeError):
        _libc = False
    return rss_bytes()


def dir_size(path):
    """Bytes allocated on disk under path (like du: preallocated sparse files count
    only what they hold)."""
    total = 0
    for root, _, files in os.walk(path):
        for f in files:
            try:
                st = os.stat(os.path.join(root, f))
            except OSError:
                continue
            total += getattr(st, "st_blocks", st.st_size // 512) * 512
    return total


