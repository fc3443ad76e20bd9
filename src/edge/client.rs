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
}

impl Default for ClientOptions {
    fn default() -> Self {
        ClientOptions {
            connect_timeout: Duration::from_secs(5),
            timeout: Duration::from_secs(30),
            response_bytes_max: crate::limits::EDGE_RESPONSE_BYTES_MAX,
            in_flight_max: crate::limits::EDGE_IN_FLIGHT_MAX,
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
        let inner = reqwest::Client::builder()
            .connect_timeout(options.connect_timeout)
            .timeout(options.timeout)
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
