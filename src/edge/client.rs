//! The one outbound HTTP client (reqwest with rustls): every request runs on the
//! edge runtime, whoever awaits it, with a connect timeout, a whole-request
//! timeout, a cap on the bytes read back and a cap on requests in flight.
//! Built only from an [`Edge`], so only code that holds the edge can make calls.

use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;

use super::error::EdgeError;
use super::Edge;

/// Bounds of a client.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClientOptions {
    pub connect_timeout: Duration,
    /// The whole request, from sending to the last byte of the answer.
    pub timeout: Duration,
    /// Largest answer read back.
    pub response_bytes_max: usize,
    /// Requests in flight at once; more wait for a slot (within `timeout`).
    pub in_flight_max: usize,
    /// For streamed answers ([`HttpClient::send_raw`]): when set, `timeout` bounds
    /// the wait for the answer's head only, and this bounds each silence between
    /// two chunks of the body (an LLM stream may run for minutes).
    pub body_idle_timeout: Option<Duration>,
}

impl Default for ClientOptions {
    fn default() -> Self {
        ClientOptions {
            connect_timeout: Duration::from_secs(5),
            timeout: Duration::from_secs(30),
            response_bytes_max: crate::limits::EDGE_RESPONSE_BYTES_MAX,
            in_flight_max: crate::limits::EDGE_IN_FLIGHT_MAX,
            body_idle_timeout: None,
        }
    }
}

#[derive(Clone)]
pub struct HttpClient {
    inner: reqwest::Client,
    edge: Edge,
    options: ClientOptions,
    slots: Arc<tokio::sync::Semaphore>,
}

impl Edge {
    /// A client whose requests run on this edge.
    pub fn http_client(&self, options: ClientOptions) -> Result<HttpClient, EdgeError> {
        let mut builder = reqwest::Client::builder()
            .connect_timeout(options.connect_timeout)
            .pool_max_idle_per_host(options.in_flight_max.max(1));
        builder = match options.body_idle_timeout {
            None => builder.timeout(options.timeout),
            Some(idle) => builder.read_timeout(idle),
        };
        let inner = builder
            .build()
            .map_err(|e| EdgeError::Start(e.to_string()))?;
        Ok(HttpClient {
            inner,
            edge: self.clone(),
            slots: Arc::new(tokio::sync::Semaphore::new(options.in_flight_max.max(1))),
            options,
        })
    }
}

impl HttpClient {
    pub fn options(&self) -> &ClientOptions {
        &self.options
    }

    /// POSTs `body` as JSON (with a bearer token if given) and returns the JSON
    /// answer. A non-2xx status is [`EdgeError::Status`] with the start of the body.
    pub async fn post_json(
        &self,
        url: &str,
        body: &Value,
        bearer: Option<&str>,
    ) -> Result<Value, EdgeError> {
        let mut req = self.inner.post(url).json(body);
        if let Some(t) = bearer {
            req = req.bearer_auth(t);
        }
        self.json(url, req).await
    }

    /// GETs `url` and returns the JSON answer.
    pub async fn get_json(&self, url: &str) -> Result<Value, EdgeError> {
        let req = self.inner.get(url);
        self.json(url, req).await
    }

    async fn json(&self, url: &str, req: reqwest::RequestBuilder) -> Result<Value, EdgeError> {
        let (url, slots, max, timeout) = (
            url.to_owned(),
            self.slots.clone(),
            self.options.response_bytes_max,
            self.options.timeout,
        );
        let url_for_timeout = url.clone();
        let run = async move {
            let _slot = tokio::time::timeout(timeout, slots.acquire_owned())
                .await
                .map_err(|_| EdgeError::Timeout {
                    what: format!("a free connection slot for {url}"),
                    millis: timeout.as_millis() as u64,
                })?
                .map_err(|_| EdgeError::Stopped)?;
            let resp = req.send().await.map_err(|e| classify(&url, e, timeout))?;
            let status = resp.status().as_u16();
            let bytes = read_capped(&url, resp, max, timeout).await?;
            if !(200..300).contains(&status) {
                let text = String::from_utf8_lossy(&bytes[..bytes.len().min(512)]).into_owned();
                return Err(EdgeError::Status {
                    url,
                    status,
                    body: text,
                });
            }
            serde_json::from_slice(&bytes).map_err(|e| EdgeError::Decode {
                url,
                reason: e.to_string(),
            })
        };
        // Without reqwest's whole-request timeout (a streaming client), the call
        // is bounded here.
        let bounded = self.options.body_idle_timeout.is_some();
        let whole = async move {
            if !bounded {
                return run.await;
            }
            match tokio::time::timeout(timeout, run).await {
                Ok(r) => r,
                Err(_) => Err(EdgeError::Timeout {
                    what: url_for_timeout,
                    millis: timeout.as_millis() as u64,
                }),
            }
        };
        self.edge
            .handle()
            .spawn(whole)
            .await
            .map_err(|_| EdgeError::Stopped)?
    }
}

/// An outbound request whose answer is streamed back ([`HttpClient::send_raw`]):
/// the proxy's upstream calls. Headers go as given (reqwest adds `Host` and
/// `Content-Length` from the URL and the body).
#[derive(Clone, Debug)]
pub struct RawRequest {
    pub method: http::Method,
    pub url: String,
    pub headers: http::HeaderMap,
    pub body: bytes::Bytes,
}

/// The head of an answer; its body follows in [`RawBody`] chunk by chunk, as the
/// bytes arrive.
pub struct RawResponse {
    pub status: u16,
    pub headers: http::HeaderMap,
    pub body: RawBody,
}

/// A streamed answer body: an [`http_body::Body`] of the chunks as they arrive.
/// It holds its request's slot until it is dropped, so the cap on requests in
/// flight is a cap on open upstream connections. Poll it on the edge runtime
/// (the proxy's listener runs there): the idle timeout uses its timers.
pub struct RawBody {
    inner: reqwest::Body,
    url: Arc<str>,
    idle: Duration,
    _slot: tokio::sync::OwnedSemaphorePermit,
}

impl RawBody {
    /// The next chunk, `None` at the end.
    pub async fn chunk(&mut self) -> Result<Option<bytes::Bytes>, EdgeError> {
        use http_body_util::BodyExt;
        loop {
            match self.frame().await {
                None => return Ok(None),
                Some(Err(e)) => return Err(e),
                Some(Ok(f)) => {
                    if let Ok(data) = f.into_data() {
                        return Ok(Some(data));
                    }
                }
            }
        }
    }
}

impl http_body::Body for RawBody {
    type Data = bytes::Bytes;
    type Error = EdgeError;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<bytes::Bytes>, EdgeError>>> {
        let this = &mut *self;
        std::pin::Pin::new(&mut this.inner)
            .poll_frame(cx)
            .map_err(|e| classify(&this.url, e, this.idle))
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}

impl HttpClient {
    /// Sends `req` and returns the answer's status and headers as soon as they
    /// arrive, with the body still to be read ([`RawBody`]), whatever the status.
    /// Errors: no free slot within `timeout` or no head within `timeout`
    /// ([`EdgeError::Timeout`]), connection refused or reset
    /// ([`EdgeError::Connect`]). Use a client with `body_idle_timeout` for long
    /// streams (otherwise `timeout` bounds the whole body too).
    pub async fn send_raw(&self, req: RawRequest) -> Result<RawResponse, EdgeError> {
        let (slots, timeout) = (self.slots.clone(), self.options.timeout);
        let idle = self.options.body_idle_timeout.unwrap_or(timeout);
        let url: Arc<str> = req.url.as_str().into();
        let builder = self
            .inner
            .request(req.method, req.url.as_str())
            .headers(req.headers)
            .body(req.body);
        let run = async move {
            let started = tokio::time::Instant::now();
            let slot = tokio::time::timeout(timeout, slots.acquire_owned())
                .await
                .map_err(|_| EdgeError::Timeout {
                    what: format!("a free upstream connection for {url}"),
                    millis: timeout.as_millis() as u64,
                })?
                .map_err(|_| EdgeError::Stopped)?;
            let left = timeout.saturating_sub(started.elapsed());
            let resp = match tokio::time::timeout(left, builder.send()).await {
                Err(_) => {
                    return Err(EdgeError::Timeout {
                        what: url.to_string(),
                        millis: timeout.as_millis() as u64,
                    })
                }
                Ok(r) => r.map_err(|e| classify(&url, e, timeout))?,
            };
            let status = resp.status().as_u16();
            let headers = resp.headers().clone();
            Ok(RawResponse {
                status,
                headers,
                body: RawBody {
                    inner: reqwest::Body::from(resp),
                    url,
                    idle,
                    _slot: slot,
                },
            })
        };
        self.edge
            .handle()
            .spawn(run)
            .await
            .map_err(|_| EdgeError::Stopped)?
    }
}

fn classify(url: &str, e: reqwest::Error, timeout: Duration) -> EdgeError {
    if e.is_timeout() {
        EdgeError::Timeout {
            what: url.to_owned(),
            millis: timeout.as_millis() as u64,
        }
    } else {
        EdgeError::Connect {
            url: url.to_owned(),
            reason: e.to_string(),
        }
    }
}

async fn read_capped(
    url: &str,
    mut resp: reqwest::Response,
    max: usize,
    timeout: Duration,
) -> Result<Vec<u8>, EdgeError> {
    if resp.content_length().is_some_and(|n| n as usize > max) {
        return Err(EdgeError::TooLarge {
            url: url.to_owned(),
            max,
        });
    }
    let mut out = Vec::new();
    while let Some(chunk) = resp.chunk().await.map_err(|e| classify(url, e, timeout))? {
        if out.len() + chunk.len() > max {
            return Err(EdgeError::TooLarge {
                url: url.to_owned(),
                max,
            });
        }
        out.extend_from_slice(&chunk);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    //! Against a scripted local server: JSON both ways, status errors, the answer
    //! cap, the timeout, an unreachable address; awaited from a plain thread.
    use super::*;
    use crate::edge::EdgeOptions;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// Serves `answer(request head+body)` to every connection.
    fn serve(edge: &Edge, answer: fn(&str) -> (u16, String, u64)) -> String {
        let listener = edge
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .unwrap();
        let addr = listener.local_addr().unwrap();
        edge.spawn(async move {
            loop {
                let Ok((mut s, _)) = listener.accept().await else {
                    break;
                };
                tokio::spawn(async move {
                    let mut buf = vec![0u8; 65536];
                    let n = s.read(&mut buf).await.unwrap_or(0);
                    let req = String::from_utf8_lossy(&buf[..n]).into_owned();
                    let (status, body, delay_ms) = answer(&req);
                    tokio::time::sleep(Duration::from_millis(delay_ms)).await;
                    let head = format!(
                        "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                        body.len()
                    );
                    let _ = s.write_all(head.as_bytes()).await;
                    let _ = s.write_all(body.as_bytes()).await;
                });
            }
        });
        format!("http://{addr}")
    }

    #[test]
    fn send_raw_streams_chunks_as_they_arrive_and_holds_its_slot() {
        let edge = Edge::start(EdgeOptions::default()).unwrap();
        let listener = edge
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .unwrap();
        let url = format!("http://{}/s", listener.local_addr().unwrap());
        let (go, wait) = std::sync::mpsc::channel::<()>();
        edge.spawn(async move {
            let (mut s, _) = listener.accept().await.unwrap();
            let mut buf = vec![0u8; 4096];
            let _ = s.read(&mut buf).await;
            let head =
                "HTTP/1.1 200 OK\r\nX-A: 1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nfirst\r\n";
            s.write_all(head.as_bytes()).await.unwrap();
            tokio::task::spawn_blocking(move || wait.recv())
                .await
                .unwrap()
                .unwrap();
            s.write_all(b"6\r\nsecond\r\n0\r\n\r\n").await.unwrap();
        });
        let client = edge
            .http_client(ClientOptions {
                in_flight_max: 1,
                timeout: Duration::from_millis(500),
                body_idle_timeout: Some(Duration::from_secs(5)),
                ..ClientOptions::default()
            })
            .unwrap();
        let req = RawRequest {
            method: http::Method::GET,
            url: url.clone(),
            headers: http::HeaderMap::new(),
            body: bytes::Bytes::new(),
        };
        let mut resp = edge.block_on(client.send_raw(req.clone())).unwrap();
        assert_eq!(
            (resp.status, resp.headers["x-a"].to_str().unwrap()),
            (200, "1")
        );
        let first = edge.block_on(resp.body.chunk()).unwrap().unwrap();
        assert_eq!(
            &first[..],
            b"first",
            "the first chunk came before the second was sent"
        );
        // The one slot is held by the open body: a second request waits and times out.
        assert!(matches!(
            edge.block_on(client.send_raw(req)),
            Err(EdgeError::Timeout { .. })
        ));
        go.send(()).unwrap();
        assert_eq!(
            &edge.block_on(resp.body.chunk()).unwrap().unwrap()[..],
            b"second"
        );
        assert!(edge.block_on(resp.body.chunk()).unwrap().is_none());
    }

    #[test]
    fn json_errors_caps_and_timeouts() {
        let edge = Edge::start(EdgeOptions::default()).unwrap();
        let base = serve(&edge, |req| {
            if req.starts_with("POST /echo") {
                let auth = req.contains("authorization: Bearer k")
                    || req.contains("Authorization: Bearer k");
                (200, format!("{{\"auth\":{auth}}}"), 0)
            } else if req.starts_with("GET /big") {
                (200, format!("\"{}\"", "x".repeat(5000)), 0)
            } else if req.starts_with("GET /slow") {
                (200, "{}".into(), 3000)
            } else {
                (503, "{\"error\":\"down\"}".into(), 0)
            }
        });
        let client = edge
            .http_client(ClientOptions {
                timeout: Duration::from_millis(800),
                response_bytes_max: 1000,
                ..ClientOptions::default()
            })
            .unwrap();
        use futures_lite::future::block_on as block;
        let v = block(client.post_json(
            &format!("{base}/echo"),
            &serde_json::json!({"a": 1}),
            Some("k"),
        ))
        .unwrap();
        assert_eq!(v["auth"], true);
        match block(client.get_json(&format!("{base}/other"))) {
            Err(EdgeError::Status { status, body, .. }) => {
                assert_eq!(status, 503);
                assert!(body.contains("down"));
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            block(client.get_json(&format!("{base}/big"))),
            Err(EdgeError::TooLarge { max: 1000, .. })
        ));
        assert!(matches!(
            block(client.get_json(&format!("{base}/slow"))),
            Err(EdgeError::Timeout { .. })
        ));
        assert!(matches!(
            block(client.get_json("http://127.0.0.1:1/nothing")),
            Err(EdgeError::Connect { .. })
        ));
    }
}
