#!/usr/bin/env python3
"""Peer ANN engines (hnswlib, faiss-cpu HNSWFlat, usearch, qdrant-edge) on the same
data and parameters as our `ann` bench binary; prints one JSON line per
(engine, filter, search threads, ef) in the same format.

    python benches/peers.py --base B --queries Q --gt G --k 10 --m 16 \\
        --ef-construction 200 --ef 16,32,64,128,256 --metric cosine --threads 2 \\
        --engines hnswlib,faiss,usearch,qdrant-edge --search-threads 1,2 \\
        [--limit N] [--filter-buckets [100]] [--filter-selectivities 0.01,0.1,0.5]

Each engine runs in a fresh subprocess of this script (`--engines X --child`), so
the resident-memory figures of one engine do not mix with another's.

Build: --threads threads, wall time. hnswlib add_items, faiss add, usearch add,
qdrant-edge: upsert of all points (batches of 256) + optimize() (blocks until the
HNSW index is built), both inside build_s. qdrant-edge is one shard configured for
one segment (default_segment_number=1, so one HNSW graph like the others), no WAL,
max_indexing_threads=--threads, max_search_threads=1, vectors/graph in Qdrant's
default memory placement (mmap'ed files in a temporary directory).

Search: per ef a warm-up pass over all queries, then the best (shortest wall time)
of --passes (3) timed passes; qps = queries / wall time of that pass; p50_us/p99_us
are per-query latencies (time.perf_counter around each call) of the best pass.
Queries always go one at a time (one library call per query). --search-threads N:
  * N = 1: one loop in this process.
  * N > 1, hnswlib and faiss: the query set split into N contiguous parts, one Python
    thread each (both release the GIL inside the search call; faiss is set to one
    OpenMP thread in every search thread). hnswlib's filtered search calls a Python
    callable per candidate, which needs the GIL, so it barely scales with threads.
  * N > 1, usearch and qdrant-edge: N worker processes (multiprocessing spawn), each
    opening the saved index (usearch Index.restore, an in-memory copy; qdrant-edge
    EdgeShard.load of the same shard directory) and searching its part one query at
    a time; the pass's wall time runs from the earliest start to the latest end (the
    workers start together on a barrier). Why not threads: qdrant_edge holds the GIL
    while it searches, and usearch's single-query search always uses search context 0,
    so two Python threads would either serialize or share it. Worker memory is not
    counted in the RSS figures.
Library batch search (num_threads=N) is not used: it would hide the per-query call
overhead that the 1-thread figure includes, and gives no per-query latency.

Recall@k: against --gt, or, with --limit N (the base truncated to its first N rows)
or without --gt, against an exact top-k by brute force in numpy (cosine: dot
product of normalized vectors; euclidean: squared L2; dot: inner product).

Filters (--filter-buckets [B], default B=100 when given without a value): each point
i gets the payload {"bucket": i % B}; for each selectivity s in
--filter-selectivities the filter is bucket < round(s * B). Engines with a filter
here: qdrant-edge (an Integer payload index on "bucket", created before the upsert,
and a range filter; Qdrant's planner may pick an exact scan over the payload index
for small matches, see --qdrant-full-scan-kb) and hnswlib (knn_query's filter
callable on the label). faiss and usearch run unfiltered only. Filtered recall is
against the exact top-k over the filtered subset (brute force in numpy). Rows carry
"filter": the selectivity, or null for unfiltered search.

Memory: rss_bytes_per_vector = (VmRSS after the build - VmRSS just before it, with
the data loaded, the library imported and the queries prepared) / n;
rss_search_bytes_per_vector the same after the row's searches (cumulative: it adds
search buffers and, for qdrant-edge, mmap'ed pages first touched by searching). bytes_per_vector is the serialized
index size (hnswlib save_index, faiss serialize_index, usearch save, qdrant-edge:
disk space of the shard directory after flush, as du counts it) / n. Both RSS
readings come after gc.collect() and malloc_trim(0), so memory freed earlier is
not silently reused by the build.

Fields beyond the shared format: "search_threads", "search_mode" (loop / threads /
processes), "filter", "k", "n", "passes", "p50_us", "p99_us", "rss_bytes_per_vector",
"rss_search_bytes_per_vector", "engine_version"; qdrant-edge also
"qdrant_full_scan_kb".

--write-gt PATH: only write the brute-force ground truth (k columns, .ivecs) of the
(--limit'ed) base for the queries, and exit (peers.sh uses it for our binary).
Exit status: 0 if every engine ran; 1 if any failed or was unavailable (reported on
stderr as "peers.py: X not available: ..."), the others still print their rows.
"""

import argparse
import gc
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time

import numpy as np

ENGINES = ("hnswlib", "faiss", "usearch", "qdrant-edge")
EXIT_UNAVAILABLE = 3


# ---------------------------------------------------------------- data and truth

def read_fvecs(path):
    raw = np.fromfile(path, dtype=np.int32)
    if raw.size == 0:
        raise SystemExit(f"{path}: empty file")
    d = int(raw[0])
    if d <= 0 or raw.size % (d + 1) != 0:
        raise SystemExit(f"{path}: not a valid .fvecs file (dim {d}, {raw.size} words)")
    rows = raw.reshape(-1, d + 1)
    if not np.all(rows[:, 0] == d):
        raise SystemExit(f"{path}: rows with differing dimensions")
    return np.ascontiguousarray(rows[:, 1:].view(np.float32))


def read_ivecs(path):
    raw = np.fromfile(path, dtype=np.int32)
    if raw.size == 0:
        raise SystemExit(f"{path}: empty file")
    d = int(raw[0])
    if d <= 0 or raw.size % (d + 1) != 0:
        raise SystemExit(f"{path}: not a valid .ivecs file (dim {d}, {raw.size} words)")
    rows = raw.reshape(-1, d + 1)
    return np.ascontiguousarray(rows[:, 1:])


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


# ---------------------------------------------------------------- engines
#
# An engine object: name, version, parallel ("threads" or "processes"), filters (bool),
# build(base) (timed by the caller), bytes_per_vector(), set_ef(ef), search(i, sel) ->
# ids of query i (sel: None or a selectivity), thread_init() for search threads,
# save(dir) -> path and the static open_worker(path, args, queries) for "processes".

class Hnswlib:
    name = "hnswlib"
    parallel = "threads"
    filters = True

    def __init__(self, args, queries):
        import hnswlib
        self.lib = hnswlib
        self.args = args
        self.queries = queries
        self.version = getattr(hnswlib, "__version__", None) or dist_version("hnswlib")
        self.allowed = {}
        self.short_results = 0

    def build(self, base):
        n, d = base.shape
        space = {"cosine": "cosine", "euclidean": "l2", "dot": "ip"}[self.args.metric]
        self.index = self.lib.Index(space=space, dim=d)
        self.index.init_index(max_elements=n, ef_construction=self.args.ef_construction, M=self.args.m)
        self.index.add_items(base, np.arange(n), num_threads=self.args.threads)
        self.index.set_num_threads(1)
        self.n = n

    def prepare_filters(self, n):
        # A Python list's bound __getitem__: the cheapest callable hnswlib can call per label.
        for sel in self.args.selectivities if self.args.filter_buckets else []:
            self.allowed[sel] = allowed_mask(self.args, n, sel).tolist().__getitem__

    def bytes_per_vector(self):
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "hnswlib.bin")
            self.index.save_index(path)
            return os.path.getsize(path) / self.n

    def set_ef(self, ef):
        self.index.set_ef(max(ef, self.args.k))

    def search(self, i, sel):
        flt = None if sel is None else self.allowed[sel]
        try:
            labels, _ = self.index.knn_query(self.queries[i], k=self.args.k, num_threads=1, filter=flt)
        except RuntimeError:
            # hnswlib raises when it finds fewer than k results (a filter that prunes its
            # whole beam): scored as no hits.
            self.short_results += 1
            return []
        return labels[0]

    def thread_init(self):
        pass


class Faiss:
    name = "faiss"
    parallel = "threads"
    filters = False

    def __init__(self, args, queries):
        import faiss
        self.lib = faiss
        self.args = args
        self.queries = normalize(queries) if args.metric == "cosine" else queries
        self.version = getattr(faiss, "__version__", None) or dist_version("faiss-cpu")

    def prepare_base(self, base):
        return normalize(base) if self.args.metric == "cosine" else base

    def build(self, base):
        faiss = self.lib
        metric = faiss.METRIC_L2 if self.args.metric == "euclidean" else faiss.METRIC_INNER_PRODUCT
        n, d = base.shape
        self.index = faiss.IndexHNSWFlat(d, self.args.m, metric)
        self.index.hnsw.efConstruction = self.args.ef_construction
        faiss.omp_set_num_threads(self.args.threads)
        self.index.add(base)
        faiss.omp_set_num_threads(1)
        self.n = n

    def bytes_per_vector(self):
        return self.lib.serialize_index(self.index).size / self.n

    def set_ef(self, ef):
        self.index.hnsw.efSearch = max(ef, self.args.k)

    def search(self, i, sel):
        _, labels = self.index.search(self.queries[i:i + 1], self.args.k)
        return labels[0]

    def thread_init(self):
        # OpenMP's thread count is per thread: new Python threads start at the default.
        self.lib.omp_set_num_threads(1)


class Usearch:
    name = "usearch"
    parallel = "processes"
    filters = False

    def __init__(self, args, queries):
        import usearch.index
        self.lib = usearch.index
        self.args = args
        self.queries = queries
        import usearch
        self.version = getattr(usearch, "VERSION", None) or getattr(usearch, "__version__", None) \
            or dist_version("usearch")
        if not isinstance(self.version, (str, type(None))):
            self.version = str(self.version)

    def build(self, base):
        n, d = base.shape
        metric = {"cosine": "cos", "euclidean": "l2sq", "dot": "ip"}[self.args.metric]
        self.index = self.lib.Index(ndim=d, metric=metric, dtype="f32", connectivity=self.args.m,
                                    expansion_add=self.args.ef_construction,
                                    expansion_search=max(64, self.args.k))
        self.index.add(np.arange(n, dtype=np.uint64), base, threads=self.args.threads)
        self.n = n

    def bytes_per_vector(self):
        with tempfile.TemporaryDirectory() as tmp:
            path = self.save(tmp)
            return os.path.getsize(path) / self.n

    def save(self, directory):
        path = os.path.join(directory, "usearch.index")
        self.index.save(path)
        return path

    @staticmethod
    def open_worker(path, args, queries):
        eng = Usearch(args, queries)
        eng.index = eng.lib.Index.restore(path, view=False)
        return eng

    def set_ef(self, ef):
        self.index.expansion_search = max(ef, self.args.k)

    def search(self, i, sel):
        return self.index.search(self.queries[i], self.args.k, threads=1).keys

    def thread_init(self):
        pass


class QdrantEdge:
    name = "qdrant-edge"
    parallel = "processes"
    filters = True
    BATCH = 256

    def __init__(self, args, queries):
        import qdrant_edge
        self.qe = qdrant_edge
        self.args = args
        self.queries = queries
        self.version = dist_version("qdrant-edge-py")
        self.filter_objs = {}
        self.ef = None
        self.tmp = None
        self.shard = None
        self.full_scan_kb = args.qdrant_full_scan_kb

    def prepare_filters(self, n):
        qe = self.qe
        for sel in self.args.selectivities if self.args.filter_buckets else []:
            b = filter_buckets(self.args, sel)
            self.filter_objs[sel] = qe.Filter(must=[qe.FieldCondition(key="bucket", range=qe.RangeFloat(lt=b))])

    def build(self, base):
        qe = self.qe
        n, d = base.shape
        self.n = n
        data_kb = n * d * 4 // 1024
        if self.full_scan_kb >= data_kb:
            # Below full_scan_threshold Qdrant answers even unfiltered queries by a full
            # scan: keep the HNSW path measurable on small (--limit) bases.
            new = max(1, data_kb // 4)
            print(f"peers.py: qdrant-edge: full_scan_threshold {self.full_scan_kb} KB >= data "
                  f"{data_kb} KB would make every search exact; using {new} KB", file=sys.stderr)
            self.full_scan_kb = new
        distance = {"cosine": qe.Distance.Cosine, "euclidean": qe.Distance.Euclid,
                    "dot": qe.Distance.Dot}[self.args.metric]
        config = qe.EdgeConfig(
            vectors=qe.EdgeVectorParams(size=d, distance=distance),
            hnsw_config=qe.HnswIndexConfig(m=self.args.m, ef_construct=self.args.ef_construction,
                                           full_scan_threshold=self.full_scan_kb,
                                           max_indexing_threads=self.args.threads),
            optimizers=qe.EdgeOptimizersConfig(default_segment_number=1, indexing_threshold=1,
                                               max_segment_size=4 * data_kb + 1024),
            max_search_threads=1,
            wal_enabled=False,
        )
        self.tmp = tempfile.mkdtemp(prefix="peers-qdrant-")
        self.path = os.path.join(self.tmp, "shard")
        self.shard = qe.EdgeShard.create(self.path, config)
        if self.args.filter_buckets:
            self.shard.update(qe.UpdateOperation.create_field_index("bucket", qe.PayloadSchemaType.Integer))
        t0 = time.perf_counter()
        buckets = self.args.filter_buckets
        for a in range(0, n, self.BATCH):
            pts = [qe.Point(i, base[i], {"bucket": i % buckets} if buckets else None)
                   for i in range(a, min(n, a + self.BATCH))]
            self.shard.update(qe.UpdateOperation.upsert_points(pts))
        t1 = time.perf_counter()
        self.shard.optimize()
        t2 = time.perf_counter()
        info = self.shard.info()
        print(f"peers.py: qdrant-edge: upsert {t1 - t0:.2f}s, optimize {t2 - t1:.2f}s; segments "
              f"{info.segments_count}, points {info.points_count}, indexed {info.indexed_vectors_count}",
              file=sys.stderr)
        if info.indexed_vectors_count < n:
            print(f"peers.py: qdrant-edge: only {info.indexed_vectors_count}/{n} vectors indexed",
                  file=sys.stderr)

    def bytes_per_vector(self):
        self.shard.flush()
        return dir_size(self.path) / self.n

    def save(self, directory):
        self.shard.flush()
        return self.path

    @staticmethod
    def open_worker(path, args, queries):
        eng = QdrantEdge(args, queries)
        eng.shard = eng.qe.EdgeShard.load(path)
        eng.prepare_filters(0)
        return eng

    def set_ef(self, ef):
        self.ef = max(ef, self.args.k)

    def search(self, i, sel):
        qe = self.qe
        req = qe.SearchRequest(query=qe.Query.Nearest(self.queries[i]), limit=self.args.k,
                               filter=None if sel is None else self.filter_objs[sel],
                               params=qe.SearchParams(hnsw_ef=self.ef, exact=False))
        return [p.id for p in self.shard.search(req)]

    def thread_init(self):
        pass

    def close(self):
        if self.shard is not None:
            self.shard.close()
            self.shard = None
        if self.tmp:
            shutil.rmtree(self.tmp, ignore_errors=True)
            self.tmp = None


ENGINE_CLASSES = {"hnswlib": Hnswlib, "faiss": Faiss, "usearch": Usearch, "qdrant-edge": QdrantEdge}


# ---------------------------------------------------------------- timed passes

def pass_in_threads(eng, nq, nthreads, sel):
    """One pass over all queries on `nthreads` threads (1 = this thread).
    Returns (wall seconds, found ids per query, latency seconds per query)."""
    found = [None] * nq
    lat = np.empty(nq)
    parts = np.array_split(np.arange(nq), nthreads)
    perf = time.perf_counter
    search = eng.search

    def work(ix, barrier=None):
        if barrier is not None:
            eng.thread_init()
            barrier.wait()
        for i in ix:
            t = perf()
            found[i] = search(i, sel)
            lat[i] = perf() - t

    if nthreads == 1:
        t0 = perf()
        work(parts[0])
        return perf() - t0, found, lat
    barrier = threading.Barrier(nthreads + 1)
    threads = [threading.Thread(target=work, args=(ix, barrier)) for ix in parts]
    for t in threads:
        t.start()
    barrier.wait()
    t0 = perf()
    for t in threads:
        t.join()
    return perf() - t0, found, lat


def _worker_main(engine, path, args, queries, conn, barrier):
    """Search worker process (processes mode): open the saved index, then answer
    ("pass", ef, sel, query ids) with (t_start, t_end, ids, latencies)."""
    try:
        eng = ENGINE_CLASSES[engine].open_worker(path, args, queries)
    except Exception as e:  # report, then let the parent fail the run
        conn.send(("error", repr(e)))
        return
    conn.send(("ready", None))
    perf = time.perf_counter
    while True:
        cmd = conn.recv()
        if cmd is None:
            break
        ef, sel, ix = cmd
        eng.set_ef(ef)
        found, lat = [], []
        barrier.wait()
        t0 = perf()
        for i in ix:
            t = perf()
            found.append(list(eng.search(int(i), sel)))
            lat.append(perf() - t)
        t1 = perf()
        conn.send((t0, t1, found, lat))
    if hasattr(eng, "shard") and eng.shard is not None:
        eng.shard.close()


class WorkerPool:
    def __init__(self, eng, path, args, nworkers):
        import multiprocessing as mp
        ctx = mp.get_context("spawn")
        self.barrier = ctx.Barrier(nworkers)
        self.conns, self.procs = [], []
        for _ in range(nworkers):
            parent, child = ctx.Pipe()
            p = ctx.Process(target=_worker_main,
                            args=(eng.name, path, args, eng.queries, child, self.barrier), daemon=True)
            p.start()
            self.conns.append(parent)
            self.procs.append(p)
        for c in self.conns:
            kind, msg = c.recv()
            if kind != "ready":
                self.close()
                raise RuntimeError(f"search worker failed to open the index: {msg}")

    def run_pass(self, nq, ef, sel):
        parts = np.array_split(np.arange(nq), len(self.conns))
        for c, ix in zip(self.conns, parts):
            c.send((ef, sel, ix))
        found = [None] * nq
        lat = np.empty(nq)
        starts, ends = [], []
        for c, ix in zip(self.conns, parts):
            t0, t1, f, l = c.recv()
            starts.append(t0)
            ends.append(t1)
            for j, i in enumerate(ix):
                found[i] = f[j]
                lat[i] = l[j]
        return max(ends) - min(starts), found, lat

    def close(self):
        for c in self.conns:
            try:
                c.send(None)
            except OSError:
                pass
        for p in self.procs:
            p.join(timeout=30)
            if p.is_alive():
                p.terminate()


def measure(eng, pool, nq, ef, sel, nthreads, passes):
    """Warm-up pass, then the best of `passes`: (secs, found, lat)."""
    if pool is None:
        eng.set_ef(ef)
        run = lambda: pass_in_threads(eng, nq, nthreads, sel)
    else:
        run = lambda: pool.run_pass(nq, ef, sel)
    run()  # warm-up
    best = None
    for _ in range(passes):
        r = run()
        if best is None or r[0] < best[0]:
            best = r
    return best


# ---------------------------------------------------------------- child: one engine

def run_engine(args, name):
    base, queries = load_data(args)
    truths = load_truths(args.gt_cache) if args.gt_cache else compute_truths(args, base, queries)
    n, nq = len(base), len(queries)
    try:
        eng = ENGINE_CLASSES[name](args, queries)
    except ImportError as e:
        print(f"peers.py: {name} not available: {e}", file=sys.stderr)
        return EXIT_UNAVAILABLE
    if hasattr(eng, "prepare_base"):
        base = eng.prepare_base(base)
    if hasattr(eng, "prepare_filters"):
        eng.prepare_filters(n)
    if args.filter_buckets and not eng.filters:
        print(f"peers.py: {name}: no filtered search in this bench, unfiltered rows only", file=sys.stderr)

    rss0 = settled_rss()
    t0 = time.perf_counter()
    eng.build(base)
    build_s = time.perf_counter() - t0
    rss1 = settled_rss()
    print(f"peers.py: {name} {eng.version}: built {n} vectors in {build_s:.2f}s, "
          f"RSS +{(rss1 - rss0) / 2**20:.1f} MiB", file=sys.stderr)
    bytes_per_vector = eng.bytes_per_vector()

    sels = [None] + (list(args.selectivities) if args.filter_buckets and eng.filters else [])
    tmpdir = tempfile.mkdtemp(prefix=f"peers-{name}-")
    try:
        for nthreads in args.search_thread_list:
            pool = None
            mode = "loop"
            if nthreads > 1:
                mode = eng.parallel
                if eng.parallel == "processes":
                    pool = WorkerPool(eng, eng.save(tmpdir), args, nthreads)
            try:
                for sel in sels:
                    for ef in args.efs:
                        secs, found, lat = measure(eng, pool, nq, ef, sel, nthreads, args.passes)
                        r = row(args, name, eng.version, ef, build_s, recall_at_k(found, truths[sel], args.k),
                                nq / secs, bytes_per_vector, n)
                        r.update({
                            "search_threads": nthreads,
                            "search_mode": mode,
                            "filter": sel,
                            "p50_us": round(float(np.percentile(lat, 50)) * 1e6, 1),
                            "p99_us": round(float(np.percentile(lat, 99)) * 1e6, 1),
                            "rss_bytes_per_vector": round((rss1 - rss0) / n, 1),
                            "passes": args.passes,
                        })
                        r["rss_search_bytes_per_vector"] = round((settled_rss() - rss0) / n, 1)
                        if name == "qdrant-edge":
                            r["qdrant_full_scan_kb"] = eng.full_scan_kb
                        print(json.dumps(r), flush=True)
                        print(f"peers.py: {name} thr={nthreads} filter={sel} ef={ef}: recall "
                              f"{r['recall']:.4f} qps {r['qps']:,.0f} p50 {r['p50_us']:,.0f} us",
                              file=sys.stderr)
            finally:
                if pool is not None:
                    pool.close()
        if getattr(eng, "short_results", 0):
            print(f"peers.py: {name}: {eng.short_results} searches returned fewer than k results "
                  f"(scored as misses)", file=sys.stderr)
    finally:
        if hasattr(eng, "close"):
            eng.close()
        shutil.rmtree(tmpdir, ignore_errors=True)
    return 0


def row(args, engine, version, ef, build_s, recall, qps, bytes_per_vector, n):
    return {
        "engine": engine,
        "precision": "f32",
        "metric": args.metric,
        "m": args.m,
        "ef_construction": args.ef_construction,
        "ef": ef,
        "shards": 1,
        "threads": args.threads,
        "build_s": round(build_s, 4),
        "recall": round(recall, 5),
        "qps": round(qps, 1),
        "bytes_per_vector": round(bytes_per_vector, 1),
        "search_threads": 1,
        "k": args.k,
        "n": n,
        "engine_version": version,
    }


# ---------------------------------------------------------------- parent

def run_parent(args, engines):
    base, queries = load_data(args)
    print(f"peers.py: base {base.shape}, queries {queries.shape}, metric {args.metric}, M {args.m}, "
          f"efC {args.ef_construction}, build threads {args.threads}, search threads "
          f"{args.search_threads}, filters "
          f"{args.selectivities if args.filter_buckets else 'off'}", file=sys.stderr)
    truths = compute_truths(args, base, queries)
    del base, queries
    failed = []
    with tempfile.TemporaryDirectory(prefix="peers-gt-") as tmp:
        cache = os.path.join(tmp, "truths.npz")
        save_truths(cache, truths)
        script = os.path.abspath(__file__)
        for name in engines:
            cmd = [sys.executable, script, *sys.argv[1:], "--engines", name, "--child", "--gt-cache", cache]
            proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
            for line in proc.stdout:
                sys.stdout.write(line)
                sys.stdout.flush()
            rc = proc.wait()
            if rc == EXIT_UNAVAILABLE:
                failed.append(f"{name} (not available)")
            elif rc != 0:
                print(f"peers.py: {name} failed (exit {rc})", file=sys.stderr)
                failed.append(name)
    if failed:
        print(f"peers.py: not run: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


def parse_list(s, conv):
    return [conv(x) for x in s.split(",") if x.strip()]


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--base", required=True)
    p.add_argument("--queries", required=True)
    p.add_argument("--gt", help="ground truth .ivecs for the full base (brute force if absent or --limit)")
    p.add_argument("--k", type=int, default=10)
    p.add_argument("--m", type=int, default=16)
    p.add_argument("--ef-construction", type=int, default=200)
    p.add_argument("--ef", default="16,32,64,128,256", help="comma-separated list")
    p.add_argument("--metric", choices=["cosine", "euclidean", "dot"], default="cosine")
    p.add_argument("--threads", type=int, default=2, help="threads for building")
    p.add_argument("--search-threads", default="1,2", help="comma-separated list")
    p.add_argument("--passes", type=int, default=3, help="timed passes per ef (best is kept)")
    p.add_argument("--engines", default="hnswlib,faiss,usearch,qdrant-edge",
                   help=f"comma-separated: {','.join(ENGINES)}")
    p.add_argument("--limit", type=int, default=0, help="use only the first N base vectors")
    p.add_argument("--filter-buckets", type=int, nargs="?", const=100, default=0,
                   help="payload bucket = i %% B for every point (B=100 if no value); enables filtered rows")
    p.add_argument("--filter-selectivities", default="0.01,0.1,0.5",
                   help="filters bucket < round(s*B), one per s")
    p.add_argument("--qdrant-full-scan-kb", type=int, default=10000,
                   help="qdrant-edge HNSW full_scan_threshold in KB (Qdrant's default 10000)")
    p.add_argument("--write-gt", help="write the brute-force ground truth (.ivecs) and exit")
    p.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--gt-cache", help=argparse.SUPPRESS)
    # Accepted for command-line compatibility with the `ann` binary; peers are f32, unsharded.
    p.add_argument("--precision", default="f32")
    p.add_argument("--shards", type=int, default=1)
    args = p.parse_args()

    args.efs = parse_list(args.ef, int)
    args.search_thread_list = parse_list(args.search_threads, int)
    args.selectivities = parse_list(args.filter_selectivities, float)
    if not args.efs or not args.search_thread_list or min(args.search_thread_list) < 1:
        raise SystemExit("--ef and --search-threads need positive values")
    if args.filter_buckets < 0 or any(not 0 < s <= 1 for s in args.selectivities):
        raise SystemExit("--filter-buckets must be > 0 and selectivities in (0, 1]")
    if args.filter_buckets:
        for s in args.selectivities:
            if filter_buckets(args, s) < 1:
                raise SystemExit(f"selectivity {s} selects no bucket of {args.filter_buckets}")

    if args.write_gt:
        base, queries = load_data(args)
        write_ivecs(args.write_gt, exact_topk(base, queries, args.k, args.metric))
        print(f"peers.py: wrote ground truth {args.write_gt} ({len(queries)} x {args.k}, base {len(base)})",
              file=sys.stderr)
        return

    if args.precision != "f32" and not args.child:
        print(f"peers.py: --precision {args.precision} ignored, peers run f32", file=sys.stderr)
    engines = parse_list(args.engines, str.strip)
    unknown = [e for e in engines if e not in ENGINE_CLASSES]
    if unknown:
        raise SystemExit(f"unknown engine(s): {', '.join(unknown)} (known: {', '.join(ENGINES)})")

    if args.child:
        if len(engines) != 1:
            raise SystemExit("--child takes exactly one engine")
        sys.exit(run_engine(args, engines[0]))
    sys.exit(run_parent(args, engines))


if __name__ == "__main__":
    main()
