"""The peer engines of benches/peers.py, one adapter class each (see its docstring)."""

import gc
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time

import numpy as np

from peer_data import allowed_mask, compute_truths, dir_size, dist_version, exact_topk, filter_buckets, load_data, load_truths, normalize, read_fvecs, read_ivecs, recall_at_k, rss_bytes, save_truths, settled_rss, write_ivecs  # noqa: F401


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


