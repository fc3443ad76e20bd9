"""kektordb-client 0.6.2 (the upstream Python client) against our server: every
client method whose route exists, and the errors it raises for bad input."""

import os

import pytest
from kektordb_client import KektorDBClient
from kektordb_client.client import APIError

HOST, PORT = os.environ["KEKTOR_TEST_ADDR"].rsplit(":", 1)


@pytest.fixture(scope="module")
def db():
    return KektorDBClient(host=HOST, port=int(PORT))


def test_kv(db):
    db.set("greeting", "hello")
    assert db.get("greeting") == "hello"
    db.set("greeting", b"bytes too")
    assert db.get("greeting") == "bytes too"
    db.delete("greeting")
    with pytest.raises(APIError):
        db.get("greeting")


def test_index_lifecycle_and_search(db):
    db.vcreate("docs", metric="cosine", precision="float32", m=16, ef_construction=100, text_language="english")
    with pytest.raises(APIError, match="already exists"):
        db.vcreate("docs")
    db.vadd("docs", "a", [1.0, 0.0, 0.0], {"text": "rust vector database", "cat": "db", "year": 2024})
    db.vadd("docs", "person:ann", None, {"kind": "person"})  # a zero-vector entity
    res = db.vadd_batch(
        "docs",
        [
            {"id": "b", "vector": [0.0, 1.0, 0.0], "metadata": {"text": "gardening in spring", "cat": "home", "year": 2020}},
            {"id": "c", "vector": [0.7, 0.7, 0.0], "metadata": {"text": "databases for gardeners", "cat": "db", "year": 2022}},
        ],
    )
    assert res["vectors_added"] == 2

    assert db.vsearch("docs", [0.9, 0.1, 0.0], k=2) == ["a", "c"]
    assert db.vsearch("docs", [0.9, 0.1, 0.0], k=3, filter_str="cat = 'db' AND year < 2023") == ["c"]
    assert db.vsearch("docs", [0.0, 1.0, 0.0], k=3, ef_search=50)[0] == "b"
    # Hybrid: pure text (alpha 0) ranks the text match first whatever the vector says.
    assert db.vsearch("docs", [0.0, 1.0, 0.0], k=1, query_text="rust", alpha=0.0) == ["a"]
    assert db.vsearch("docs", None, k=3, query_text="database")[0] in ("a", "c")
    scored = db.vsearch_with_scores("docs", [1.0, 0.0, 0.0], k=2)
    assert [r["id"] for r in scored] == ["a", "c"]
    assert scored[0]["score"] > scored[1]["score"]

    got = db.vget("docs", "a")
    assert got["id"] == "a" and got["metadata"]["cat"] == "db"
    assert sorted(x["id"] for x in db.vget_many("docs", ["a", "b", "zzz"])) == ["a", "b"]
    assert db.vget("docs", "person:ann")["metadata"]["kind"] == "person"
    # Stored float32 values come back in their shortest form (as upstream writes them).
    db.vcreate("floats", metric="euclidean")
    db.vadd("floats", "f", [0.1, 0.2, 0.3])
    assert db.vget("floats", "f")["vector"] == [0.1, 0.2, 0.3]

    db.vdelete("docs", "a")
    with pytest.raises(APIError):
        db.vget("docs", "a")
    assert "a" not in db.vsearch("docs", [1.0, 0.0, 0.0], k=3)

    listed = {i["name"]: i for i in db.list_indexes()}
    assert listed["docs"]["metric"] == "cosine" and listed["docs"]["vector_count"] == 3
    info = db.get_index_info("docs")
    assert info["dimension"] == 3 and info["text_language"] == "english"

    db.vimport("docs", [{"id": f"i{n}", "vector": [1.0, float(n), 0.5]} for n in range(25)], batch_size=10)
    assert db.get_index_info("docs")["vector_count"] == 28

    db.delete_index("docs")
    with pytest.raises(APIError):
        db.get_index_info("docs")


def test_errors(db):
    db.vcreate("e", metric="euclidean")
    db.vadd("e", "x", [1.0, 2.0])
    with pytest.raises(APIError, match="dimension"):
        db.vadd("e", "y", [1.0, 2.0, 3.0])
    with pytest.raises(APIError, match="not found"):
        db.vsearch("missing", [1.0, 2.0], k=1)
    with pytest.raises(APIError, match="k must be at most"):
        db.vsearch("e", [1.0, 2.0], k=100000)
    with pytest.raises(APIError, match="expected"):
        db.vsearch("e", [1.0, 2.0], k=1, filter_str="year >")
    db.vupdate_config("e", {"graph_retention": "720h"})
    with pytest.raises(APIError, match="negative"):
        db.vupdate_config("e", {"graph_retention": -1})
    for i in range(50):
        db.vadd("e", f"p{i}", [float(i), 2.0])
    task = db.vcompress("e", "int8", wait=True)
    assert task.status == "completed", task.error
    assert db.get_index_info("e")["precision"] == "int8"
    assert db.vsearch("e", [10.0, 2.0], k=1) == ["p10"]
    with pytest.raises(APIError, match="larger"):
        db.vcompress("e", "float16")


def test_graph(db):
    db.vcreate("g", metric="euclidean")
    db.vadd("g", "chunk1", [1.0, 0.0], {"text": "one"})
    db.vadd("g", "chunk2", [0.0, 1.0], {"text": "two"})
    db.vlink("g", "chunk1", "chunk2", "next", inverse_relation="prev")
    db.vlink("g", "chunk1", "doc", "parent")
    assert db.vget_links("g", "chunk1", "next") == ["chunk2"]
    assert db.get_incoming("g", "chunk2", "next") == ["chunk1"]
    assert db.vget_links("g", "chunk2", "prev") == ["chunk1"]
    assert db.get_all_relations("g", "chunk1") == {"next": ["chunk2"], "parent": ["doc"]}
    assert db.get_all_incoming("g", "chunk1") == {"prev": ["chunk2"]}
    conns = db.vget_connections("g", "chunk1", "next")
    assert [c["id"] for c in conns] == ["chunk2"] and conns[0]["metadata"]["text"] == "two"
    edges = db.get_edges("g", "chunk1", "next")
    assert [e["t"] for e in edges] == ["chunk2"] and edges[0]["w"] == 1.0
    created = edges[0]["c"]
    db.vunlink("g", "chunk1", "chunk2", "next")
    assert db.vget_links("g", "chunk1", "next") == []
    # Time travel: just after the link, the edge was there.
    past = db.get_edges("g", "chunk1", "next", at_time=created + 1)
    assert [e["t"] for e in past] == ["chunk2"] and "d" in past[0]


def test_graph_walks_and_node_properties(db):
    db.vcreate("w", metric="euclidean")
    for i in range(4):
        db.vadd("w", f"c{i}", [float(i), 1.0], {"text": f"chunk {i}", "doc": "d1"})
    db.set_node_properties("w", "d1", {"type": "document", "title": "Manual"})  # entity created
    db.set_node_properties("w", "c0", {"first": True})
    assert db.get_node_properties("w", "c0") == {"text": "chunk 0", "doc": "d1", "first": True}
    assert db.get_node_properties("w", "d1")["type"] == "document"
    for i in range(3):
        db.vlink("w", f"c{i}", f"c{i + 1}", "next", inverse_relation="prev")
    for i in range(4):
        db.vlink("w", f"c{i}", "d1", "parent", inverse_relation="child")
    # The vector of c0 survived the property update.
    assert db.vsearch("w", [0.0, 1.0], k=1) == ["c0"]
    found = db.search_nodes("w", "type = 'document'")
    assert [n["id"] for n in found] == ["d1"]
    path = db.find_path("w", "c0", "c3", relations=["next"])
    assert path["found"] and path["path"] == ["c0", "c1", "c2", "c3"]
    assert not db.find_path("w", "c3", "c0", relations=["next"])["found"]
    tree = db.traverse("w", "c1", ["parent.child", "next.next"])
    siblings = sorted(n["id"] for n in tree["connections"]["parent"][0]["connections"]["child"])
    assert siblings == ["c0", "c1", "c2", "c3"]
    assert tree["connections"]["next"][0]["connections"]["next"][0]["id"] == "c3"
    assert tree["connections"]["parent"][0]["metadata"]["title"] == "Manual"
    sub = db.extract_subgraph("w", "c0", ["next"], max_depth=2)
    assert sorted(n["id"] for n in sub["nodes"]) == ["c0", "c1", "c2"]
    assert {"source": "c0", "target": "c1", "relation": "next", "dir": "out"} in sub["edges"]
    # Search restricted to what is reachable from c0 in one "next" hop: c0 and c1.
    res = db.vsearch("w", [3.0, 1.0], k=3, graph_filter={"root_id": "c0", "relations": ["next"], "max_depth": 1})
    assert res == ["c1", "c0"]
    both = db.vsearch("w", [3.0, 1.0], k=2, graph_filter={"root_id": "c1", "relations": ["next"], "max_depth": 1, "direction": "both"})
    assert both == ["c2", "c1"]
    rich = db.vsearch("w", [0.0, 1.0], k=1, include_relations=["next", "parent"], hydrate_relations=True)
    assert rich[0]["id"] == "c0" and rich[0]["node"]["metadata"]["text"] == "chunk 0"
    assert rich[0]["node"]["connections"]["next"][0]["id"] == "c1"
    assert rich[0]["node"]["connections"]["parent"][0]["metadata"]["title"] == "Manual"
    ids_only = db.vsearch("w", [0.0, 1.0], k=1, include_relations=["next"])
    assert ids_only[0]["node"]["connections"]["next"][0] == {"id": "c1"}


def test_auto_links(db):
    db.vcreate("al", metric="euclidean", auto_links=[{"metadata_field": "parent_id", "relation_type": "child_of"}])
    assert db.get_auto_links("al")[0]["relation_type"] == "child_of"
    # The target does not exist yet: the link is made anyway, and the reverse index
    # answers for it.
    db.vadd("al", "c1", [1.0, 0.0], {"parent_id": "doc9"})
    db.vadd_batch("al", [{"id": "c2", "vector": [0.0, 1.0], "metadata": {"parent_id": "doc9"}}])
    assert db.vget_links("al", "c1", "child_of") == ["doc9"]
    assert db.get_incoming("al", "doc9", "child_of") == ["c1", "c2"]
    db.set_auto_links("al", [{"metadata_field": "tags", "relation_type": "tagged"}])
    db.vadd("al", "c3", [1.0, 1.0], {"tags": ["rust", "db"], "parent_id": "doc9"})
    assert db.vget_links("al", "c3", "tagged") == ["db", "rust"]
    assert db.vget_links("al", "c3", "child_of") == []


def test_memory_decay_and_reinforce(db):
    import time
    db.vcreate("mem", metric="euclidean", memory_config={"enabled": True, "decay_half_life": "1s"})
    db.vadd("mem", "old", [1.0, 0.0])
    db.vadd("mem", "pinned", [1.2, 0.0], pinned=True)
    time.sleep(1.5)
    db.vadd("mem", "new", [1.1, 0.0])
    # "old" is nearest, but it has decayed for 1.5 half-lives; "pinned" never decays.
    scored = db.vsearch_with_scores("mem", [1.0, 0.0], k=3)
    assert [r["id"] for r in scored] == ["new", "pinned", "old"], scored
    db.vreinforce("mem", ["old"])
    assert db.vsearch("mem", [1.0, 0.0], k=1) == ["old"]


def test_vacuum(db):
    db.vcreate("vac", metric="euclidean")
    db.vadd_batch("vac", [{"id": f"v{i}", "vector": [float(i), 0.5]} for i in range(200)])
    for i in range(0, 200, 3):
        db.vdelete("vac", f"v{i}")
    task = db.vtrigger_maintenance("vac", "vacuum")
    assert task.status == "completed", task.error
    # v30 is deleted; v29 and v31 tie at distance 1 (ties go by id), then v28.
    assert db.vsearch("vac", [30.0, 0.5], k=3) == ["v29", "v31", "v28"]
    refine = db.vtrigger_maintenance("vac", "refine")
    assert refine.status == "completed", refine.error
    assert db.vsearch("vac", [30.0, 0.5], k=3) == ["v29", "v31", "v28"]


def test_background_maintenance(db):
    import re
    import time
    import requests

    def runs(kind):
        text = requests.get(f"http://{HOST}:{PORT}/metrics", timeout=10).text
        m = re.search(r'kektordb_maintenance_runs_total\{type="%s"\} (\d+)' % kind, text)
        return int(m.group(1)) if m else 0

    db.vcreate("bg", metric="euclidean", maintenance_config={"vacuum_interval": "1s", "delete_threshold": 0.2})
    assert db.get_index_info("bg")["maintenance"]["vacuum_interval"] == 1_000_000_000
    db.vadd_batch("bg", [{"id": f"b{i}", "vector": [float(i), 1.0]} for i in range(40)])
    before = runs("vacuum")
    for i in range(10):
        db.vdelete("bg", f"b{i}")
    deadline = time.time() + 10
    while runs("vacuum") == before and time.time() < deadline:
        time.sleep(0.2)
    assert runs("vacuum") > before, "the scheduler did not vacuum"
    refines = runs("refine")
    db.vupdate_config("bg", {"refine_enabled": True, "refine_interval": "1s", "refine_batch_size": 10})
    assert db.get_index_info("bg")["maintenance"]["refine_enabled"] is True
    deadline = time.time() + 10
    while runs("refine") == refines and time.time() < deadline:
        time.sleep(0.2)
    assert runs("refine") > refines, "the scheduler did not refine"
    assert db.vsearch("bg", [20.0, 1.0], k=1) == ["b20"]
    with pytest.raises(APIError, match="unknown maintenance setting"):
        db.vupdate_config("bg", {"vacuum_intervall": "1m"})
