//! The alternative front end the design card names, measured against ours: a
//! may_minihttp server (coroutines on `--workers` threads) in front of the same glommio
//! shard engine, each request crossing from a may worker to the shard executors over
//! the engine's channels (the worker blocks on the answer). Serves `GET /healthz` and
//! `POST /vector/actions/search` on data loaded in-process from `--base`.
//!
//! ```text
//! may-front --addr 127.0.0.1:19300 --workers 1 --shards 2 --base B.fvecs
//! http-load --addr 127.0.0.1:19300 --route search --no-load --base B.fvecs --queries Q.fvecs --gt GT.ivecs
//! ```

use std::io::{self, Read};

use futures_lite::future::block_on;
use kektordb::{Engine, IndexConfig, Metric, NewItem, Options, SearchRequest};
use may_minihttp::{HttpService, HttpServiceFactory, Request, Response};

#[derive(serde::Deserialize)]
struct Search {
    index_name: String,
    k: usize,
    query_vector: Vec<f32>,
    ef_search: Option<usize>,
}

#[derive(Clone)]
struct Front {
    engine: Engine,
}

impl HttpService for Front {
    fn call(&mut self, req: Request, rsp: &mut Response) -> io::Result<()> {
        rsp.header("Content-Type: application/json");
        match (req.method(), req.path()) {
            ("GET", "/healthz") => {
                rsp.body(r#"{"status":"ok"}"#);
            }
            ("POST", "/vector/actions/search") => {
                let mut raw = Vec::new();
                req.body().read_to_end(&mut raw)?;
                let answer = match serde_json::from_slice::<Search>(&raw) {
                    Ok(s) => block_on(self.engine.search(
                        &s.index_name,
                        SearchRequest {
                            vector: Some(s.query_vector),
                            k: s.k,
                            ef_search: s.ef_search,
                            ..Default::default()
                        },
                    ))
                    .map(|hits| serde_json::json!({"results": hits.into_iter().map(|h| h.id).collect::<Vec<_>>()}))
                    .map_err(|e| e.to_string()),
                    Err(e) => Err(e.to_string()),
                };
                match answer {
                    Ok(v) => rsp.body_vec(serde_json::to_vec(&v).unwrap_or_default()),
                    Err(e) => {
                        rsp.status_code(400, "Bad Request");
                        rsp.body_vec(
                            serde_json::to_vec(&serde_json::json!({"error": e}))
                                .unwrap_or_default(),
                        );
                    }
                }
            }
            _ => {
                rsp.status_code(404, "Not Found");
                rsp.body(r#"{"error":"no route"}"#);
            }
        }
        Ok(())
    }
}

struct Factory {
    engine: Engine,
}

impl HttpServiceFactory for Factory {
    type Service = Front;
    fn new_service(&self, _: usize) -> Front {
        Front {
            engine: self.engine.clone(),
        }
    }
}

fn main() {
    let mut addr = "127.0.0.1:19300".to_owned();
    let (mut workers, mut shards) = (1usize, 2usize);
    let mut base = None;
    let mut it = std::env::args().skip(1);
    while let Some(f) = it.next() {
        let v = it.next().unwrap_or_else(|| panic!("{f} needs a value"));
        match f.as_str() {
            "--addr" => addr = v,
            "--workers" => workers = v.parse().expect("number"),
            "--shards" => shards = v.parse().expect("number"),
            "--base" => base = Some(v),
            other => panic!("unknown flag {other}"),
        }
    }
    // JSON handling needs more than may's default coroutine stack.
    may::config()
        .set_workers(workers)
        .set_stack_size(256 * 1024);
    let engine = Engine::open(Options {
        shards,
        pin: true,
        ..Options::default()
    })
    .expect("engine");
    let mut cfg = IndexConfig::new("bench");
    cfg.metric = Metric::Cosine;
    block_on(engine.create_index(cfg)).expect("create");
    if let Some(b) = base {
        let rows = kektordb_io::read_fvecs(std::path::Path::new(&b)).expect("base");
        let items: Vec<NewItem> = (0..rows.len())
            .map(|i| NewItem {
                id: i.to_string(),
                vector: rows.row(i).to_vec(),
                metadata: Default::default(),
            })
            .collect();
        for chunk in items.chunks(5_000) {
            block_on(engine.add_batch("bench", chunk.to_vec())).expect("load");
        }
    }
    eprintln!("may-front listening on http://{addr} ({workers} may workers, {shards} shards)");
    let server = Factory { engine }.start(&addr).expect("listen");
    server.join().ok();
}
