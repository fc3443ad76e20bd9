//! One request through the proxy, in order: the proxy's own endpoints
//! (`GET /metrics`, `POST /cache/invalidate`); the body read under
//! `max_body_bytes`; any path but the four inspected APIs forwarded untouched;
//! for those: the static firewall, the exact cache, one embedding of the user's
//! text (shared by the stages whose indexes use the same embedder), the semantic
//! firewall, the semantic cache, RAG injection, then the upstream call, whose
//! answer streams back while a copy goes to the cache. A failing embedder, search
//! or cache never fails the request: the stage is skipped, logged and counted.

use std::convert::Infallible;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use http::{header, HeaderValue, Method, Request, Response, StatusCode};
use http_body_util::BodyExt;
use hyper::body::Incoming;

use super::body::{ProxyBody, Tee};
use super::cache::{Cache, Hit, NewEntry};
use super::config::ProxyConfig;
use super::error::{json_error, ProxyError};
use super::firewall::{Block, Firewall};
use super::forward::{forward, Outgoing};
use super::metrics::{Count, Metrics, Route, Stage};
use super::rag;
use super::wire::{assistant_reply, complete_answer, inspect, split_frames, Api, Inspected};
use crate::edge::HttpClient;
use crate::engine::EmbedPurpose;
use crate::limits::PROXY_CACHE_RESPONSE_BYTES_MAX;
use crate::Engine;

pub const CACHE_HEADER: &str = "x-kektor-cache";
pub const BLOCKED_HEADER: &str = "x-kektor-blocked";

/// The root token and the API keys, shared with the HTTP API.
#[derive(Clone)]
pub struct AdminAuth {
    pub root: String,
    pub keys: Arc<crate::auth::Keys>,
}

impl AdminAuth {
    /// Root token, or an API key with the admin role.
    pub fn check(&self, headers: &http::HeaderMap) -> Result<(), ProxyError> {
        let token = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split_once(' '))
            .filter(|(s, _)| s.eq_ignore_ascii_case("bearer"))
            .map(|(_, t)| t.trim())
            .ok_or(ProxyError::Unauthorized)?;
        if crate::auth::same_secret(token.as_bytes(), self.root.as_bytes()) {
            return Ok(());
        }
        let who = self
            .keys
            .verify(token)
            .map_err(|_| ProxyError::Unauthorized)?;
        if who.may(crate::auth::Role::Admin) && who.all_namespaces() {
            Ok(())
        } else {
            Err(ProxyError::Forbidden)
        }
    }
}

pub struct Handler {
    pub engine: Engine,
    pub cfg: ProxyConfig,
    pub client: HttpClient,
    pub firewall: Option<Firewall>,
    pub cache: Option<Arc<Cache>>,
    pub metrics: Arc<Metrics>,
    /// With a root token: who may use the admin routes (`/metrics`,
    /// `/cache/invalidate`); the other routes carry the upstream's own credentials.
    pub admin: Option<AdminAuth>,
    /// Query rewriting of multi-turn chats and grounded HyDe (see `refine.rs`).
    pub refiners: super::refine::Refiners,
    /// When each stage last logged a failure (unix ms), so a broken embedder
    /// logs once a second, not once a request.
    last_warn: [AtomicI64; 4],
}

/// Embeddings of this request's text by embedder name (None: that embedder
/// failed, so it is not asked again for this request).
type Memo = Vec<(String, Option<Vec<f32>>)>;

fn now_ms() -> i64 {
    kektordb_shards::index::now_nanos() / 1_000_000
}

impl Handler {
    pub fn new(
        engine: Engine,
        cfg: ProxyConfig,
        client: HttpClient,
        firewall: Option<Firewall>,
        cache: Option<Arc<Cache>>,
        metrics: Arc<Metrics>,
        refiners: super::refine::Refiners,
    ) -> Handler {
        Handler {
            admin: None,
            refiners,
            engine,
            cfg,
            client,
            firewall,
            cache,
            metrics,
            last_warn: Default::default(),
        }
    }

    /// The hyper service.
    pub async fn handle(
        self: Arc<Self>,
        req: Request<Incoming>,
    ) -> Result<Response<ProxyBody>, Infallible> {
        let path = req.uri().path().to_owned();
        Ok(match self.route(req).await {
            Ok(r) => r,
            Err(e) => {
                self.metrics.count(match &e {
                    ProxyError::Unreachable { .. } => Count::UpstreamUnreachable,
                    ProxyError::UpstreamTimeout { .. } => Count::UpstreamTimeout,
                    ProxyError::Upstream(_) => Count::UpstreamOther,
                    _ => Count::BadRequest,
                });
                e.reply(&path)
            }
        })
    }

    fn degraded(&self, c: Count, what: &str, e: &dyn std::fmt::Display) {
        self.metrics.count(c);
        let slot = match c {
            Count::DegradedEmbed => 0,
            Count::DegradedFirewall => 1,
            Count::DegradedCache => 2,
            _ => 3,
        };
        let now = now_ms();
        let last = self.last_warn[slot].load(Ordering::Relaxed);
        if now - last >= 1000
            && self.last_warn[slot]
                .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
        {
            eprintln!("kektordb: proxy: {what} failed, going on without it: {e}");
        }
    }

    async fn route(&self, req: Request<Incoming>) -> Result<Response<ProxyBody>, ProxyError> {
        let start = Instant::now();
        let (parts, body) = req.into_parts();
        let path = parts.uri.path().to_owned();
        let admin_route = (path == "/metrics" && parts.method == Method::GET)
            || (path == "/cache/invalidate" && parts.method == Method::POST);
        if let (true, Some(a)) = (admin_route, &self.admin) {
            a.check(&parts.headers)?;
        }
        if path == "/metrics" && parts.method == Method::GET {
            self.metrics.request(Route::Proxy);
            let mut r = Response::new(ProxyBody::full(self.metrics.render()));
            r.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/plain; version=0.0.4"),
            );
            return Ok(r);
        }
        let max = self.cfg.max_body_bytes;
        if parts
            .headers
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok())
            .is_some_and(|n| n > max as u64)
        {
            return Err(ProxyError::BodyTooLarge { max });
        }
        let bytes = http_body_util::Limited::new(body, max)
            .collect()
            .await
            .map_err(|e| {
                if e.downcast_ref::<http_body_util::LengthLimitError>()
                    .is_some()
                {
                    ProxyError::BodyTooLarge { max }
                } else {
                    ProxyError::BodyRead(e.to_string())
                }
            })?
            .to_bytes();
        if path == "/cache/invalidate" && parts.method == Method::POST {
            self.metrics.request(Route::Proxy);
            return self.invalidate(&bytes).await;
        }
        let out = Outgoing {
            method: parts.method.clone(),
            path_and_query: parts
                .uri
                .path_and_query()
                .map_or_else(|| path.clone(), |p| p.as_str().to_owned()),
            headers: parts.headers,
            body: bytes,
        };
        match Api::of(&parts.method, &path) {
            None => {
                self.metrics.request(Route::Passthrough);
                self.metrics.time(Stage::Added, start.elapsed());
                self.upstream(out).await
            }
            Some(api) => {
                self.metrics.request(Route::Api(api));
                self.inspected(api, out, &path, start).await
            }
        }
    }

    async fn upstream(&self, out: Outgoing) -> Result<Response<ProxyBody>, ProxyError> {
        let t = Instant::now();
        let a = forward(&self.client, &self.cfg.target_url, out).await?;
        self.metrics.time(Stage::Upstream, t.elapsed());
        Ok(a.response)
    }

    async fn invalidate(&self, body: &Bytes) -> Result<Response<ProxyBody>, ProxyError> {
        let v: serde_json::Value = serde_json::from_slice(body)
            .map_err(|e| ProxyError::BadRequest(format!("invalid JSON: {e}")))?;
        let id = v
            .get("document_id")
            .and_then(|d| d.as_str())
            .filter(|d| !d.is_empty())
            .ok_or_else(|| ProxyError::BadRequest("document_id is required".into()))?;
        let deleted = match &self.cache {
            Some(c) => c.invalidate(id).await,
            None => 0,
        };
        let mut reply = serde_json::json!({"status": "ok", "deleted": deleted});
        if deleted == 0 {
            reply["message"] = serde_json::json!(format!("no cache entries used '{id}'"));
        }
        let mut r = Response::new(ProxyBody::full(reply.to_string()));
        r.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        Ok(r)
    }

    /// The embedding of `text` by `index`'s embedder (memoized by embedder name).
    async fn embed(&self, index: &str, text: &str, memo: &mut Memo) -> Option<Vec<f32>> {
        let e = self.engine.embedder_for(index)?;
        let name = e.name();
        if let Some((_, v)) = memo.iter().find(|(n, _)| *n == name) {
            return v.clone();
        }
        let t = Instant::now();
        let r = self
            .engine
            .embed_for(index, vec![text.to_owned()], EmbedPurpose::Query)
            .await;
        self.metrics.time(Stage::Embed, t.elapsed());
        match r {
            Ok(mut v) => {
                let v = v.pop();
                memo.push((name, v.clone()));
                v
            }
            Err(err) => {
                if !matches!(err, crate::EngineError::EmbedDimension { .. }) {
                    memo.push((name, None));
                }
                self.degraded(
                    Count::DegradedEmbed,
                    &format!("embedding for {index}"),
                    &err,
                );
                None
            }
        }
    }

    fn blocked(&self, req: &Inspected, path: &str, b: Block) -> Response<ProxyBody> {
        self.metrics.count(if b.kind == "static" {
            Count::BlockStatic
        } else {
            Count::BlockSemantic
        });
        eprintln!(
            "kektordb: proxy: blocked a {} request ({} firewall, matched '{}'{})",
            req.api.name(),
            b.kind,
            b.matched,
            b.distance
                .map(|d| format!(", cosine distance {d:.4}"))
                .unwrap_or_default()
        );
        let msg = &self.cfg.block_message;
        let mut r = if self.cfg.block_as_reply {
            let (ct, frames) = assistant_reply(req.api, &req.model, msg, req.stream);
            let mut r = Response::new(ProxyBody::frames(frames));
            r.headers_mut()
                .insert(header::CONTENT_TYPE, HeaderValue::from_static(ct));
            r
        } else {
            json_error(StatusCode::FORBIDDEN, path, msg, "content_blocked")
        };
        r.headers_mut()
            .insert(BLOCKED_HEADER, HeaderValue::from_static(b.kind));
        r
    }

    fn replay(&self, api: Api, hit: Hit) -> Response<ProxyBody> {
        self.metrics.count(if hit.distance.is_some() {
            Count::CacheHitSemantic
        } else {
            Count::CacheHitExact
        });
        let body = if hit.stream {
            ProxyBody::frames(split_frames(&hit.body, api.openai()))
        } else {
            ProxyBody::full(hit.body)
        };
        let mut r = Response::new(body);
        let ct = HeaderValue::from_str(&hit.content_type)
            .unwrap_or_else(|_| HeaderValue::from_static("application/json"));
        r.headers_mut().insert(header::CONTENT_TYPE, ct);
        r.headers_mut()
            .insert(CACHE_HEADER, HeaderValue::from_static("HIT"));
        r
    }

    async fn inspected(
        &self,
        api: Api,
        mut out: Outgoing,
        path: &str,
        start: Instant,
    ) -> Result<Response<ProxyBody>, ProxyError> {
        let Some(mut req) = inspect(api, &out.body) else {
            return self.upstream(out).await;
        };
        self.metrics.time(Stage::Inspect, start.elapsed());
        if let Some(fw) = &self.firewall {
            let t = Instant::now();
            let b = fw.check_static(&req.user_texts);
            self.metrics.time(Stage::StaticFirewall, t.elapsed());
            if let Some(b) = b {
                return Ok(self.blocked(&req, path, b));
            }
        }
        let Some(query) = req.query.clone() else {
            self.metrics.time(Stage::Added, start.elapsed());
            return self.upstream(out).await;
        };
        let task = req.is_system_task();
        let cache = self.cache.as_ref().filter(|_| !task);
        let exact = req.exact_key();
        if let Some(c) = cache {
            let t = Instant::now();
            let hit = c.exact(&exact).await;
            self.metrics.time(Stage::CacheLookup, t.elapsed());
            if let Some(hit) = hit {
                return Ok(self.replay(api, hit));
            }
        }
        let mut memo = Memo::new();
        if let Some(fw) = &self.firewall {
            if let Some(v) = self.embed(&fw.index, &query, &mut memo).await {
                let t = Instant::now();
                let r = fw.check_semantic(&self.engine, &v).await;
                self.metrics.time(Stage::SemanticFirewall, t.elapsed());
                match r {
                    Ok(Some(b)) => return Ok(self.blocked(&req, path, b)),
                    Ok(None) => {}
                    Err(e) => self.degraded(Count::DegradedFirewall, "the semantic firewall", &e),
                }
            }
        }
        let params = req.params_key();
        let mut cache_vector = None;
        if let Some(c) = cache {
            cache_vector = self.embed(&self.cfg.cache_index, &query, &mut memo).await;
            if let Some(v) = &cache_vector {
                let t = Instant::now();
                let r = c.nearest(v, &params).await;
                self.metrics.time(Stage::CacheLookup, t.elapsed());
                match r {
                    Ok(Some(hit)) => return Ok(self.replay(api, hit)),
                    Ok(None) => {}
                    Err(e) => self.degraded(Count::DegradedCache, "the cache lookup", &e),
                }
            }
            self.metrics.count(Count::CacheMiss);
        }
        let mut sources = Vec::new();
        if self.cfg.rag_enabled && !task {
            let t = Instant::now();
            let mut q = query.clone();
            if let (Some(m), Some(tr)) = (
                &self.refiners.rewriter,
                super::refine::transcript(&req.body),
            ) {
                match super::refine::rewrite(m, &self.cfg.rag_rewriter_prompt, &tr).await {
                    Ok(r) => {
                        q = r;
                        self.metrics.count(Count::Rewritten);
                    }
                    Err(e) => self.degraded(Count::DegradedRewrite, "query rewriting", &e),
                }
            }
            let v = if q == query {
                self.embed(&self.cfg.rag_index, &q, &mut memo).await
            } else {
                self.embed(&self.cfg.rag_index, &q, &mut Memo::new()).await
            };
            let mut found = Ok(None);
            if let (Some(m), Some(v0)) = (&self.refiners.hyde, &v) {
                match super::refine::hypothesis(&self.engine, &self.cfg, m, &q, v0.clone()).await {
                    Ok(Some(h)) => {
                        let hv = self.embed(&self.cfg.rag_index, &h, &mut Memo::new()).await;
                        if hv.is_some() {
                            found = rag::retrieve(&self.engine, &self.cfg, &q, hv).await;
                            self.metrics.count(Count::HydeUsed);
                        }
                    }
                    Ok(None) => {}
                    Err(e) => self.degraded(Count::DegradedHyde, "HyDe", &e),
                }
            }
            // The safety net: plain retrieval when HyDe found nothing or failed.
            if !matches!(found, Ok(Some(_))) {
                found = rag::retrieve(&self.engine, &self.cfg, &q, v).await;
            }
            match found {
                Ok(Some(ctx)) => {
                    req.inject(ctx.prompt);
                    out.body = req.to_bytes();
                    sources = ctx.sources;
                    self.metrics.count(Count::RagInjected);
                }
                Ok(None) => self.metrics.count(Count::RagNoContext),
                Err(e) => self.degraded(Count::DegradedRag, "RAG retrieval", &e),
            }
            self.metrics.time(Stage::Rag, t.elapsed());
        }
        if cache.is_some() {
            // The cache stores what it can replay: identity-encoded bodies.
            out.headers.remove(header::ACCEPT_ENCODING);
        }
        self.metrics.time(Stage::Added, start.elapsed());
        let mut resp = self.upstream(out).await?;
        if let Some(c) = cache {
            if resp.status() == StatusCode::OK {
                let content_type = resp
                    .headers()
                    .get(header::CONTENT_TYPE)
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("application/json")
                    .to_owned();
                let encoded = resp.headers().contains_key(header::CONTENT_ENCODING);
                if let (ProxyBody::Upstream { tee, .. }, false) = (resp.body_mut(), encoded) {
                    let entry = NewEntry {
                        exact,
                        params,
                        vector: cache_vector,
                        query,
                        sources,
                        content_type,
                        stream: req.stream,
                    };
                    let (c, stream) = (c.clone(), req.stream);
                    *tee = Some(Tee::new(
                        PROXY_CACHE_RESPONSE_BYTES_MAX,
                        Box::new(move |body: Bytes| {
                            let Ok(rt) = tokio::runtime::Handle::try_current() else {
                                return;
                            };
                            if complete_answer(api, stream, &body) {
                                rt.spawn(async move {
                                    if let Err(e) = c.store(entry, body).await {
                                        eprintln!("kektordb: proxy: cache: storing an answer: {e}");
                                    }
                                });
                            }
                        }),
                    ));
                }
            }
            resp.headers_mut()
                .insert(CACHE_HEADER, HeaderValue::from_static("MISS"));
        }
        Ok(resp)
    }
}
