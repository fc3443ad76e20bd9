//! The RAG pipeline end to end, with real processes and the real built-in model:
//! a folder of Markdown, text, PDF, DOCX and HTML files is ingested; known
//! questions retrieve the right file over `/rag/retrieve`; an edit, a delete and
//! a rename are reconciled (by trigger and by the folder watcher); a restart
//! re-embeds nothing; bad files are recorded with their reasons.

mod support;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use kektordb::rag::load::fixtures::{minimal_docx, minimal_pdf};
use serde_json::{json, Value};
use support::{command, models_dir, Server};

fn temp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("kektor-rag-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn write_corpus(dir: &Path) {
    std::fs::write(
        dir.join("gardening.md"),
        "# Gardening\n\n## Tomatoes\n\nTomatoes need full sun, deep watering twice a week and a stake to climb.\n\n## Roses\n\nPrune roses in late winter, just before the buds swell.\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("volcano.txt"),
        "Volcanoes erupt when magma from the mantle rises through cracks in the crust. Lava flows and ash clouds follow.",
    )
    .unwrap();
    std::fs::write(
        dir.join("espresso.html"),
        "<html><head><title>Coffee</title><style>p{color:red}</style></head><body><h1>Espresso</h1><p>Espresso is brewed by forcing hot water through finely ground coffee beans at high pressure.</p><script>var x = 'tomatoes';</script></body></html>",
    )
    .unwrap();
    std::fs::write(
        dir.join("planets.pdf"),
        minimal_pdf(&[
            "Jupiter is the largest planet in the solar system.",
            "Saturn has spectacular rings made of ice and rock.",
        ]),
    )
    .unwrap();
    std::fs::write(
        dir.join("football.docx"),
        minimal_docx(&[
            (Some("Heading1"), "Football"),
            (
                None,
                "A football match has two teams of eleven players who try to score goals.",
            ),
        ]),
    )
    .unwrap();
    // Recorded as failures with reasons, never fatal.
    std::fs::write(dir.join("broken.pdf"), b"%PDF-1.4 this is not a pdf").unwrap();
    std::fs::write(
        dir.join("image.png"),
        [0x89u8, b'P', b'N', b'G', 0, 0, 1, 2],
    )
    .unwrap();
}

fn config(dir: &Path, folder: &Path) -> PathBuf {
    let p = dir.join("vectorizers.yaml");
    std::fs::write(
        &p,
        format!(
            "vectorizers:\n  - name: docs\n    kektor_index: kb\n    schedule: 1h\n    source:\n      type: filesystem\n      path: {}\n    graph_enabled: true\n    document_processor:\n      chunking_strategy: markdown\n      chunk_size: 300\n      chunk_overlap: 30\n    metadata_template:\n      collection: \"manuals/{{{{filename}}}}\"\n",
            folder.display()
        ),
    )
    .unwrap();
    p
}

fn start(cfg: &Path, data: &Path) -> Server {
    let models = models_dir();
    let mut c = command(&[
        "-embedder",
        "local",
        "-models-dir",
        models.to_str().unwrap(),
        "-aof-path",
        data.to_str().unwrap(),
        "-vectorizers-config",
        cfg.to_str().unwrap(),
    ]);
    c.env_remove("KEKTOR_VECTORIZERS_CONFIG");
    Server::spawn(c)
}

fn status(s: &Server) -> Value {
    let (st, v) = s.json("GET", "/system/vectorizers", "");
    assert_eq!(st, 200, "{v}");
    v[0].clone()
}

/// Waits until the pipeline finished `runs` scans and is idle.
fn wait_runs(s: &Server, runs: u64) -> Value {
    let t = Instant::now();
    loop {
        let v = status(s);
        if v["runs"].as_u64().unwrap() >= runs && !v["is_running"].as_bool().unwrap() {
            return v;
        }
        assert!(
            t.elapsed() < Duration::from_secs(120),
            "pipeline stuck: {v}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn top_file(s: &Server, q: &str) -> (String, Value) {
    let (st, v) = s.json(
        "POST",
        "/rag/retrieve",
        &json!({"pipeline_name": "docs", "query": q, "k": 3, "include_provenance": true})
            .to_string(),
    );
    assert_eq!(st, 200, "{v}");
    let f = v["sources"][0]["filename"]
        .as_str()
        .unwrap_or("")
        .to_owned();
    (f, v)
}

fn trigger(s: &Server) {
    let (st, v) = s.json("POST", "/system/vectorizers/docs/trigger", "");
    assert_eq!(st, 200, "{v}");
}

#[test]
fn a_folder_is_ingested_retrieved_and_reconciled() {
    let dir = temp("e2e");
    let folder = dir.join("docs");
    std::fs::create_dir_all(&folder).unwrap();
    write_corpus(&folder);
    let cfg = config(&dir, &folder);
    let data = dir.join("data");
    let s = start(&cfg, &data);
    let v = wait_runs(&s, 1);
    assert_eq!(v["files_seen"], 7, "{v}");
    assert_eq!(v["files_indexed"], 5, "{v}");
    assert_eq!(v["files_failed"], 2, "{v}");
    let why = v["failures"]["broken.pdf"].as_str().unwrap();
    assert!(why.contains("pdf"), "{why}");
    let why = v["failures"]["image.png"].as_str().unwrap();
    assert!(why.contains("binary"), "{why}");
    assert!(v["chunks"].as_u64().unwrap() >= 6, "{v}");

    // Known questions find their file; scores are real (decreasing, not by rank).
    for (q, file) in [
        ("how often should I water tomato plants", "gardening.md"),
        ("what happens when magma rises", "volcano.txt"),
        ("how is espresso coffee made", "espresso.html"),
        ("which planet has rings", "planets.pdf"),
        ("how many players are on a football team", "football.docx"),
    ] {
        let (top, v) = top_file(&s, q);
        assert_eq!(top, file, "{q}: {v}");
        let r: Vec<f64> = v["sources"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["relevance"].as_f64().unwrap())
            .collect();
        assert!(r.windows(2).all(|w| w[0] >= w[1]), "{r:?}");
        assert!(
            r.iter().all(|x| (x * 10.0).fract().abs() > 1e-6),
            "rank-like: {r:?}"
        );
    }
    // PDF pages are kept; the HTML script did not leak into the text.
    let (_, v) = top_file(&s, "which planet has rings");
    assert_eq!(v["sources"][0]["page_number"], 2, "{v}");
    let (_, v) = top_file(&s, "espresso brewing pressure");
    assert!(!v["response"].as_str().unwrap().contains("var x"), "{v}");
    // Chunk metadata, template, graph.
    let id = format!("{}/gardening.md_0", folder.display());
    let (st, item) = s.json(
        "GET",
        &format!("/vector/indexes/kb/vectors/{}", enc(&id)),
        "",
    );
    assert_eq!(st, 200, "{item}");
    let m = &item["metadata"];
    assert_eq!(m["type"], "chunk");
    assert_eq!(m["chunk_index"], 0);
    assert_eq!(m["collection"], "manuals/gardening.md");
    assert!(
        m["content"].as_str().unwrap().starts_with("# Gardening"),
        "{m}"
    );
    let doc = format!("doc:{}/gardening.md", folder.display());
    assert_eq!(m["parent_id"], doc.as_str());
    let (st, e) = s.json(
        "POST",
        "/graph/actions/get-links",
        &json!({"source_id": id, "relation_type": "parent"}).to_string(),
    );
    assert_eq!(st, 200, "{e}");
    assert!(e.to_string().contains(&doc), "{e}");

    // Edit: the new text is found, the old is gone.
    std::fs::write(
        folder.join("volcano.txt"),
        "Glaciers are slow rivers of ice that carve valleys over thousands of years.",
    )
    .unwrap();
    trigger(&s);
    let v = wait_runs(&s, 2);
    assert_eq!(v["files_ingested"], 1, "{v}");
    let (top, v) = top_file(&s, "how do glaciers carve valleys");
    assert_eq!(top, "volcano.txt", "{v}");
    assert!(v["response"].as_str().unwrap().contains("Glaciers"), "{v}");
    assert!(!v.to_string().contains("magma"), "{v}");

    // Delete: chunks, doc node and edges go.
    std::fs::remove_file(folder.join("football.docx")).unwrap();
    trigger(&s);
    let v = wait_runs(&s, 3);
    assert_eq!(v["files_removed"], 1, "{v}");
    let gone = format!("{}/football.docx_0", folder.display());
    let (st, _) = s.json(
        "GET",
        &format!("/vector/indexes/kb/vectors/{}", enc(&gone)),
        "",
    );
    assert_eq!(st, 404);
    let (top, _) = top_file(&s, "how many players are on a football team");
    assert_ne!(top, "football.docx");
    let (_, e) = s.json(
        "POST",
        "/graph/actions/get-links",
        &json!({"source_id": format!("doc:{}/football.docx", folder.display()), "relation_type": "child"}).to_string(),
    );
    assert!(!e.to_string().contains("football.docx_0"), "{e}");

    // Rename, seen by the watcher (no trigger).
    std::fs::rename(folder.join("espresso.html"), folder.join("coffee.html")).unwrap();
    let t = Instant::now();
    loop {
        let (top, _) = top_file(&s, "how is espresso coffee made");
        if top == "coffee.html" {
            break;
        }
        assert!(
            t.elapsed() < Duration::from_secs(30),
            "the watcher did not pick up the rename"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    let old = format!("{}/espresso.html_0", folder.display());
    let t = Instant::now();
    while s
        .json(
            "GET",
            &format!("/vector/indexes/kb/vectors/{}", enc(&old)),
            "",
        )
        .0
        != 404
    {
        assert!(
            t.elapsed() < Duration::from_secs(30),
            "the old name's chunks stayed"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let before = wait_runs(&s, 4);
    let chunks = before["chunks"].as_u64().unwrap();

    // Restart (kill -9: what was acknowledged is on disk): nothing is re-embedded.
    drop(s);
    let s = start(&cfg, &data);
    let v = wait_runs(&s, 1);
    assert_eq!(v["files_ingested"], 0, "{v}");
    assert_eq!(v["chunks_embedded_total"], 0, "{v}");
    assert_eq!(v["files_unchanged"], 4, "{v}");
    assert_eq!(v["chunks"].as_u64().unwrap(), chunks, "{v}");
    let (top, _) = top_file(&s, "which planet has rings");
    assert_eq!(top, "planets.pdf");
    // A file deleted while the server was down is removed at the next start.
    drop(s);
    std::fs::remove_file(folder.join("gardening.md")).unwrap();
    let s = start(&cfg, &data);
    let v = wait_runs(&s, 1);
    assert_eq!(v["files_removed"], 1, "{v}");
    let (st, _) = s.json(
        "GET",
        &format!("/vector/indexes/kb/vectors/{}", enc(&id)),
        "",
    );
    assert_eq!(st, 404);
    // Metrics count the pipeline.
    let (st, text) = s.call("GET", "/metrics", None, None);
    assert_eq!(st, 200);
    assert!(
        text.contains("kektordb_rag_files_indexed{pipeline=\"docs\"} 3"),
        "{text}"
    );
    drop(s);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn bad_requests_and_configs_are_clear_errors() {
    let dir = temp("errors");
    let folder = dir.join("docs");
    std::fs::create_dir_all(&folder).unwrap();
    std::fs::write(folder.join("a.txt"), "hello").unwrap();
    let cfg = config(&dir, &folder);
    let s = start(&cfg, &dir.join("data"));
    for (body, want) in [
        (json!({"query": "x"}), 400),
        (json!({"pipeline_name": "docs"}), 400),
        (json!({"pipeline_name": "nope", "query": "x"}), 404),
        (
            json!({"pipeline_name": "docs", "query": "x", "compress_context": true}),
            400,
        ),
        (json!({"pipeline_name": "docs", "query": "x", "k": 0}), 400),
    ] {
        let (st, v) = s.json("POST", "/rag/retrieve", &body.to_string());
        assert_eq!(st, want, "{body}: {v}");
        assert!(v["error"].as_str().is_some_and(|e| !e.is_empty()), "{v}");
    }
    let (st, v) = s.json("POST", "/system/vectorizers/nope/trigger", "");
    assert_eq!(
        (st, v["error"].as_str().unwrap()),
        (404, "vectorizer pipeline 'nope' not found")
    );
    drop(s);
    // Without pipelines: an empty list and a 503 that says why.
    let s = Server::start(&[]);
    assert_eq!(s.json("GET", "/system/vectorizers", "").1, json!([]));
    let (st, _) = s.json(
        "POST",
        "/rag/retrieve",
        r#"{"pipeline_name":"a","query":"b"}"#,
    );
    assert_eq!(st, 503);
    drop(s);
    // A config with an unknown key stops the server with the key and line.
    std::fs::write(
        &cfg,
        "vectorizers:\n  - name: docs\n    kektor_index: kb\n    source: {path: /tmp}\n    chunk_size: 10\n",
    )
    .unwrap();
    let out = command(&["-vectorizers-config", cfg.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("chunk_size") && err.contains("line 5"),
        "{err}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

fn enc(id: &str) -> String {
    id.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Entity extraction against a scripted OpenAI-compatible chat server (exact
/// assertions on the request and the links): entity nodes linked with the
/// document and the chunks naming them; a bad reply skips entities but keeps the
/// file; an edit drops the old mentions; a deleted file's entities go.
#[test]
fn entities_are_extracted_linked_and_cleaned_up() {
    let (llm, seen) = support::scripted_http(|path, body| {
        assert_eq!(path, "/v1/chat/completions");
        let doc = body["messages"][1]["content"].as_str().unwrap_or("");
        let reply = if doc.contains("Tomatoes") {
            "```json\n[\"Tomatoes\", \"Roses\"]\n```"
        } else if doc.contains("Glaciers") {
            "[\"Glaciers\"]"
        } else {
            "I cannot help with that."
        };
        (
            200,
            json!({"choices": [{"message": {"role": "assistant", "content": reply}}]}),
        )
    });
    let dir = temp("entities");
    let folder = dir.join("docs");
    std::fs::create_dir_all(&folder).unwrap();
    std::fs::write(
        folder.join("garden.md"),
        "# Garden\n\n## Tomatoes\n\nTomatoes need full sun and deep watering twice a week.\n\n## Roses\n\nPrune roses in late winter before the buds swell, and feed them in spring.\n",
    )
    .unwrap();
    std::fs::write(
        folder.join("other.txt"),
        "Nothing in particular is described in this short text file at all.",
    )
    .unwrap();
    let cfg = dir.join("v.yaml");
    std::fs::write(
        &cfg,
        format!(
            "vectorizers:\n  - name: docs\n    kektor_index: kb\n    schedule: 1h\n    watch: false\n    source: {{path: {}}}\n    graph_enabled: true\n    graph_entity_extraction: true\n    document_processor: {{chunking_strategy: markdown, chunk_size: 80, chunk_overlap: 0}}\n    llm: {{base_url: '{llm}/v1', model: tiny, api_key: k1}}\n",
            folder.display()
        ),
    )
    .unwrap();
    let s = start(&cfg, &dir.join("data"));
    let v = wait_runs(&s, 1);
    assert_eq!(v["files_indexed"], 2, "{v}");
    assert_eq!(v["files_failed"], 0, "{v}");
    {
        let seen = seen.lock().unwrap();
        assert_eq!(seen.len(), 2, "one call per document");
        assert!(seen
            .iter()
            .all(|(_, auth, b)| auth == "Bearer k1" && b["model"] == "tiny"));
    }
    let doc = format!("doc:{}/garden.md", folder.display());
    let links = |node: &str, rel: &str| -> Vec<String> {
        let (st, v) = s.json(
            "POST",
            "/graph/actions/get-links",
            &json!({"source_id": node, "relation_type": rel}).to_string(),
        );
        assert_eq!(st, 200, "{v}");
        let mut ids: Vec<String> = v["targets"]
            .as_array()
            .or_else(|| v["results"].as_array())
            .map(|a| {
                a.iter()
                    .filter_map(|x| x.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default();
        ids.sort();
        ids
    };
    assert_eq!(links(&doc, "mentions"), ["entity:roses", "entity:tomatoes"]);
    let mentioned = links("entity:roses", "mentioned_in");
    assert!(mentioned.contains(&doc), "{mentioned:?}");
    assert!(
        mentioned
            .iter()
            .any(|m| m.contains("garden.md_") && m != &doc),
        "a chunk naming roses mentions it: {mentioned:?}"
    );
    let (st, e) = s.json("GET", "/vector/indexes/kb/vectors/entity%3Aroses", "");
    assert_eq!(st, 200, "{e}");
    assert_eq!(e["metadata"]["type"], "entity");
    // The entity node is not a retrieval result (it has no vector).
    let (_, r) = s.json(
        "POST",
        "/rag/retrieve",
        r#"{"pipeline_name":"docs","query":"roses","k":5}"#,
    );
    assert!(!r.to_string().contains("Entity:"), "{r}");
    // An edit that names other things: old mentions and orphaned entities go.
    std::fs::write(
        folder.join("garden.md"),
        "Glaciers carve valleys over thousands of years, slowly and surely.",
    )
    .unwrap();
    trigger(&s);
    wait_runs(&s, 2);
    assert_eq!(links(&doc, "mentions"), ["entity:glaciers"]);
    assert_eq!(
        s.json("GET", "/vector/indexes/kb/vectors/entity%3Aroses", "")
            .0,
        404
    );
    // Delete the file: its entity goes too.
    std::fs::remove_file(folder.join("garden.md")).unwrap();
    trigger(&s);
    wait_runs(&s, 3);
    assert_eq!(
        s.json("GET", "/vector/indexes/kb/vectors/entity%3Aglaciers", "")
            .0,
        404
    );
    drop(s);
    std::fs::remove_dir_all(&dir).unwrap();
}
