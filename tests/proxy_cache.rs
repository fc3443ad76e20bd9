//! The AI proxy's cache and RAG injection against a scripted upstream, through
//! the real binary: exact and semantic hits (the real local model), streamed
//! replays per format, parameters that must match, TTL and LRU eviction,
//! injected context seen by the upstream, invalidation by document id, and a
//! broken embedder degrading to passthrough.

#[path = "proxy/harness.rs"]
mod harness;
mod support;
#[path = "proxy/upstream.rs"]
mod upstream;

use std::time::Duration;

use harness::{chat, llm, local_model, start, NDJSON, SSE};
use serde_json::json;
use upstream::{post_json, upstream};

fn cache_hit(r: &upstream::Resp) -> Option<&str> {
    r.header("x-kektor-cache")
}

#[test]
fn cache_hits_exactly_semantically_and_replays_streams() {
    let up = upstream(llm(None));
    let model = local_model();
    let extra: Vec<&str> = model.iter().map(String::as_str).collect();
    let p = start(
        &format!("target_url: {}\ncache_enabled: true\n", up.url),
        &extra,
    );
    let q = chat("What is the capital city of France?", false);
    let first = post_json(&p.proxy, "/v1/chat/completions", &q);
    assert_eq!(cache_hit(&first), Some("MISS"));
    std::thread::sleep(Duration::from_millis(300));
    let again = post_json(&p.proxy, "/v1/chat/completions", &q);
    assert_eq!(cache_hit(&again), Some("HIT"));
    assert_eq!(again.body, first.body);
    assert_eq!(up.calls(), 1, "a hit does not call the upstream");
    // A paraphrase with the same parameters hits; other parameters do not.
    let para = post_json(
        &p.proxy,
        "/v1/chat/completions",
        &chat("what's the capital city of France", false),
    );
    assert_eq!(cache_hit(&para), Some("HIT"));
    let mut hot = chat("What is the capital city of France?", false);
    hot["temperature"] = json!(1.5);
    assert_eq!(
        cache_hit(&post_json(&p.proxy, "/v1/chat/completions", &hot)),
        Some("MISS")
    );
    let other = post_json(
        &p.proxy,
        "/v1/chat/completions",
        &chat("How do I bake sourdough bread?", false),
    );
    assert_eq!(cache_hit(&other), Some("MISS"));
    assert_eq!(up.calls(), 3);
    // Streams are cached as their frames and replayed as a stream, per format.
    let s1 = post_json(
        &p.proxy,
        "/v1/chat/completions",
        &chat("Tell me a joke", true),
    );
    assert_eq!(s1.text(), SSE.concat());
    std::thread::sleep(Duration::from_millis(300));
    let s2 = post_json(
        &p.proxy,
        "/v1/chat/completions",
        &chat("Tell me a joke", true),
    );
    assert_eq!(cache_hit(&s2), Some("HIT"));
    assert_eq!(s2.header("content-type"), Some("text/event-stream"));
    assert_eq!(s2.text(), SSE.concat());
    let o = json!({"model": "m", "messages": [{"role": "user", "content": "Tell me a joke"}]});
    let n1 = post_json(&p.proxy, "/api/chat", &o);
    assert_eq!(cache_hit(&n1), Some("MISS"), "another API is another entry");
    std::thread::sleep(Duration::from_millis(300));
    let n2 = post_json(&p.proxy, "/api/chat", &o);
    assert_eq!((cache_hit(&n2), n2.text()), (Some("HIT"), NDJSON.concat()));
    assert_eq!(up.calls(), 5);
    let m = p.metrics();
    assert!(
        m.contains("kektor_proxy_cache_total{result=\"hit\",match=\"exact\"} 3"),
        "{m}"
    );
    assert!(
        m.contains("kektor_proxy_cache_total{result=\"hit\",match=\"semantic\"} 1"),
        "{m}"
    );
}

#[test]
fn cache_ttl_and_lru_eviction() {
    let up = upstream(llm(None));
    let p = start(
        &format!(
            "target_url: {}\ncache_enabled: true\nmax_cache_items: 2\ncache_ttl: 1500ms\ncache_vacuum_interval: 200ms\n",
            up.url
        ),
        &[],
    );
    let ask = |t: &str| {
        cache_hit(&post_json(
            &p.proxy,
            "/v1/chat/completions",
            &chat(t, false),
        ))
        .map(str::to_owned)
    };
    let wait = || std::thread::sleep(Duration::from_millis(150));
    assert_eq!(ask("a").as_deref(), Some("MISS"));
    wait();
    assert_eq!(ask("b").as_deref(), Some("MISS"));
    wait();
    assert_eq!(
        ask("a").as_deref(),
        Some("HIT"),
        "exact match without an embedder"
    );
    assert_eq!(ask("c").as_deref(), Some("MISS"));
    wait();
    // b was the least recently used of three: evicted.
    assert_eq!(ask("a").as_deref(), Some("HIT"));
    assert_eq!(ask("c").as_deref(), Some("HIT"));
    assert_eq!(ask("b").as_deref(), Some("MISS"));
    std::thread::sleep(Duration::from_millis(2000));
    let m = p.metrics();
    assert!(
        m.contains("event=\"expired\"} 2"),
        "the sweeper removed what aged out: {m}"
    );
    assert_eq!(ask("a").as_deref(), Some("MISS"));
}

#[test]
fn rag_context_reaches_the_upstream_and_invalidation_works() {
    let up = upstream(llm(None));
    let model = local_model();
    let extra: Vec<&str> = model.iter().map(String::as_str).collect();
    let p = start(
        &format!(
            "target_url: {}\nrag_enabled: true\nrag_index: kb\nrag_threshold: 0.6\ncache_enabled: true\nrag_top_k: 1\n",
            up.url
        ),
        &extra,
    );
    p.api(
        "/vector/actions/create",
        json!({"index_name": "kb", "metric": "cosine"}),
    );
    p.api(
        "/vector/actions/add-batch",
        json!({"index_name": "kb", "vectors": [
            {"id": "doc:guide.md", "metadata": {"filename": "guide.md", "type": "document"}},
            {"id": "guide.md#0", "metadata": {"content": "KektorDB is a vector database.", "parent_id": "doc:guide.md"}},
            {"id": "guide.md#1", "metadata": {"content": "The proxy listens on port 9092 by default.", "parent_id": "doc:guide.md"}},
            {"id": "guide.md#2", "metadata": {"content": "Snapshots are written every minute.", "parent_id": "doc:guide.md"}}]}),
    );
    for (a, b) in [("guide.md#0", "guide.md#1"), ("guide.md#1", "guide.md#2")] {
        p.api("/graph/actions/link", json!({"source_id": a, "target_id": b, "relation_type": "next", "inverse_relation_type": "prev"}));
    }
    for c in ["guide.md#0", "guide.md#1", "guide.md#2"] {
        p.api("/graph/actions/link", json!({"source_id": c, "target_id": "doc:guide.md", "relation_type": "parent", "inverse_relation_type": "child"}));
    }
    let q = chat("Which port does the proxy listen on?", false);
    let r = post_json(&p.proxy, "/v1/chat/completions", &q);
    assert_eq!(r.status, 200);
    let sent = up.last().json();
    let content = sent["messages"][0]["content"].as_str().unwrap().to_owned();
    assert!(
        content.contains("--- Source Document: guide.md ---"),
        "{content}"
    );
    assert!(content.contains("KektorDB is a vector database. The proxy listens on port 9092 by default. Snapshots are written every minute."), "{content}");
    assert!(
        content.contains("Question:\nWhich port does the proxy listen on?"),
        "{content}"
    );
    // The cache entry remembers its sources; invalidating the chunk drops it.
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(
        cache_hit(&post_json(&p.proxy, "/v1/chat/completions", &q)),
        Some("HIT")
    );
    let inv = post_json(
        &p.proxy,
        "/cache/invalidate",
        &json!({"document_id": "guide.md#1"}),
    );
    assert_eq!(inv.json(), json!({"status": "ok", "deleted": 1}));
    assert_eq!(
        cache_hit(&post_json(&p.proxy, "/v1/chat/completions", &q)),
        Some("MISS")
    );
    let bad = post_json(&p.proxy, "/cache/invalidate", &json!({}));
    assert_eq!(bad.status, 400);
    // Nothing relevant enough: the request goes as it was.
    post_json(
        &p.proxy,
        "/api/chat",
        &json!({"model": "m", "stream": false, "messages": [{"role": "user", "content": "zebra migration patterns"}]}),
    );
    let sent = up.last().json();
    assert_eq!(sent["messages"][0]["content"], "zebra migration patterns");
    assert!(p
        .metrics()
        .contains("kektor_proxy_rag_total{result=\"injected\"} 2"));
}

#[test]
fn a_broken_embedder_degrades_to_passthrough() {
    let up = upstream(llm(None));
    let p = start(
        &format!(
            "target_url: {}\nfirewall_enabled: true\ncache_enabled: true\nrag_enabled: true\nembedder_type: ollama_api\nembedder_url: http://127.0.0.1:1/api/embeddings\nembedder_timeout: 1s\n",
            up.url
        ),
        &[],
    );
    let r = post_json(
        &p.proxy,
        "/v1/chat/completions",
        &chat("hello there", false),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["choices"][0]["message"]["content"], "Paris");
    let m = p.metrics();
    assert!(
        m.contains("kektor_proxy_degraded_total{stage=\"embed\"} 1"),
        "{m}"
    );
    assert!(
        m.contains("kektor_proxy_degraded_total{stage=\"rag\"} 1"),
        "{m}"
    );
}

/// Query rewriting and grounded HyDe with a scripted LLM (exact assertions on
/// what each model call saw): a follow-up question is rewritten into a standalone
/// one, the hypothesis is grounded on the index's snippets, the context that
/// reaches the upstream is the rewritten question's; when the LLM fails, plain
/// retrieval still injects context (the safety net) and the failure is counted.
#[test]
fn rewriting_and_hyde_refine_what_rag_searches() {
    let script = |r: &upstream::Seen| {
        let body = r.json();
        let system = body["messages"][0]["content"]
            .as_str()
            .unwrap_or("")
            .to_owned();
        if system.contains("query rewriting engine") {
            upstream::Reply::Json(
                200,
                harness::completion("How often should tomato plants be watered?"),
            )
        } else if system.contains("Write a short passage") {
            upstream::Reply::Json(
                200,
                harness::completion("Tomato plants need deep watering twice a week."),
            )
        } else {
            upstream::Reply::Json(200, harness::completion("ok"))
        }
    };
    let up = upstream(script);
    let model = local_model();
    let extra: Vec<&str> = model.iter().map(String::as_str).collect();
    let p = start(
        &format!(
            "target_url: {u}\nrag_enabled: true\nrag_index: kb\nrag_threshold: 0.3\nrag_top_k: 1\nrag_use_hyde: true\nllm: {{base_url: '{u}/v1', model: big}}\nfast_llm: {{base_url: '{u}/v1', model: small}}\n",
            u = up.url
        ),
        &extra,
    );
    p.api(
        "/vector/actions/create",
        json!({"index_name": "kb", "metric": "cosine"}),
    );
    p.api(
        "/vector/actions/add-batch",
        json!({"index_name": "kb", "vectors": [
            {"id": "g#0", "metadata": {"content": "Water tomato plants deeply twice a week; more in a heat wave.", "filename": "garden.md"}},
            {"id": "g#1", "metadata": {"content": "Espresso is brewed at nine bars of pressure.", "filename": "coffee.md"}}]}),
    );
    let q = json!({"model": "m", "messages": [
        {"role": "user", "content": "I am growing tomatoes on my balcony."},
        {"role": "assistant", "content": "Nice! What would you like to know?"},
        {"role": "user", "content": "How often?"}]});
    let r = post_json(&p.proxy, "/v1/chat/completions", &q);
    assert_eq!(r.status, 200, "{}", r.text());
    let seen: Vec<_> = up.seen.lock().unwrap().iter().map(|s| s.json()).collect();
    assert_eq!(seen.len(), 3, "rewrite, HyDe, then the chat: {seen:?}");
    assert_eq!(seen[0]["model"], "small");
    let transcript = seen[0]["messages"][1]["content"].as_str().unwrap();
    assert!(
        transcript.ends_with("User: How often?") && transcript.contains("Assistant: Nice!"),
        "{transcript}"
    );
    assert_eq!(seen[1]["model"], "big");
    assert!(
        seen[1]["messages"][0]["content"]
            .as_str()
            .unwrap()
            .contains("Water tomato plants deeply"),
        "HyDe is grounded on the index"
    );
    assert_eq!(
        seen[1]["messages"][1]["content"],
        "How often should tomato plants be watered?"
    );
    let last = seen[2]["messages"].as_array().unwrap().last().unwrap()["content"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        last.contains("Water tomato plants deeply") && !last.contains("Espresso"),
        "{last}"
    );
    assert!(
        last.contains("How often should tomato plants be watered?"),
        "{last}"
    );
    let m = p.metrics();
    assert!(
        m.contains("kektor_proxy_rag_rewritten_total 1")
            && m.contains("kektor_proxy_rag_hyde_total 1"),
        "{m}"
    );
    drop(p);

    // A dead LLM: the chat still gets context from plain retrieval.
    let up = upstream(harness::llm(None));
    let p = start(
        &format!(
            "target_url: {}\nrag_enabled: true\nrag_index: kb\nrag_threshold: 0.3\nrag_top_k: 1\nrag_use_hyde: true\nllm: {{base_url: 'http://127.0.0.1:1/v1'}}\n",
            up.url
        ),
        &extra,
    );
    p.api(
        "/vector/actions/create",
        json!({"index_name": "kb", "metric": "cosine"}),
    );
    p.api(
        "/vector/actions/add-batch",
        json!({"index_name": "kb", "vectors": [{"id": "g#0", "metadata": {"content": "Water tomato plants deeply twice a week.", "filename": "garden.md"}}]}),
    );
    let r = post_json(&p.proxy, "/v1/chat/completions", &q);
    assert_eq!(r.status, 200, "{}", r.text());
    let sent = up.last().json();
    let last = sent["messages"].as_array().unwrap().last().unwrap()["content"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(last.contains("Water tomato plants deeply"), "{last}");
    let m = p.metrics();
    assert!(
        m.contains("kektor_proxy_degraded_total{stage=\"rewrite\"} 1"),
        "{m}"
    );
}
