//! A loopback fault proxy between `gameday` and the emulator: per request, by a seeded
//! schedule, it answers throttling in each protocol's real shape, a 500/503, adds latency, or
//! resets the connection (before forwarding, or after the service acted — the lost reply).
//!
//! Shapes: FIS (restJson1) `429` with `x-amzn-ErrorType: ThrottlingException`; CloudWatch Logs
//! (awsJson1.1) `400` with `{"__type": "ThrottlingException"}`; CloudWatch (Smithy RPCv2 CBOR)
//! `400`, a CBOR `{"__type", "message"}` body and `x-amzn-query-error: Throttling;Sender`; STS
//! (awsQuery) the XML `ErrorResponse`. The emulator's own endpoints (`/_gameday/`,
//! `/moto-api/`) pass untouched. Rules fault matching requests every time (a StopExperiment
//! that always fails, a StartExperiment whose reply is always lost).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt as _, AsyncReadExt as _, AsyncWriteExt as _, BufReader};
use tokio::net::{TcpListener, TcpStream};

/// One fault.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Fault {
    /// The protocol's throttling error.
    Throttle,
    /// A 5xx answer (500 or 503).
    ServerError(u16),
    /// The request is forwarded after this delay.
    Latency(Duration),
    /// The connection is reset before the request is forwarded.
    ResetBefore,
    /// The request is forwarded (the service acts), then the connection is reset.
    ResetAfter,
}

/// A request the proxy always faults.
#[derive(Debug, Clone)]
pub(crate) struct Rule {
    /// HTTP method.
    pub(crate) method: &'static str,
    /// Path prefix.
    pub(crate) path_prefix: String,
    /// The body must contain this.
    pub(crate) body_contains: Option<String>,
    /// The body must not contain this.
    pub(crate) body_lacks: Option<String>,
    /// What to do.
    pub(crate) fault: Fault,
}

struct State {
    rate: f64,
    rng: u64,
    latency: (u64, u64),
    rules: Vec<Rule>,
    faulted: usize,
    requests: usize,
}

impl State {
    /// xorshift64*: a schedule that is the same for the same seed and request order.
    fn next(&mut self) -> u64 {
        let mut x = self.rng;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.rng = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }

    fn decide(&mut self, method: &str, path: &str, body: &[u8]) -> Option<Fault> {
        self.requests += 1;
        let text = String::from_utf8_lossy(body);
        for r in &self.rules {
            if r.method == method
                && path.starts_with(&r.path_prefix)
                && r.body_contains.as_ref().is_none_or(|c| text.contains(c))
                && r.body_lacks.as_ref().is_none_or(|c| !text.contains(c))
            {
                self.faulted += 1;
                return Some(r.fault);
            }
        }
        if self.unit() >= self.rate {
            return None;
        }
        self.faulted += 1;
        // The mix of a faulted request: 35 % throttling, 35 % 5xx, 20 % reset, 10 % latency.
        let pick = self.unit();
        Some(if pick < 0.35 {
            Fault::Throttle
        } else if pick < 0.55 {
            Fault::ServerError(503)
        } else if pick < 0.70 {
            Fault::ServerError(500)
        } else if pick < 0.80 {
            Fault::ResetBefore
        } else if pick < 0.90 {
            Fault::ResetAfter
        } else {
            let (lo, hi) = self.latency;
            let ms = lo + self.next() % (hi - lo + 1);
            Fault::Latency(Duration::from_millis(ms))
        })
    }
}

/// A running proxy; it lives as long as the test process.
pub(crate) struct FaultProxy {
    /// `http://127.0.0.1:PORT`.
    pub(crate) url: String,
    state: Arc<Mutex<State>>,
}

impl FaultProxy {
    /// Starts a proxy to `upstream` faulting `rate` of the requests, by `seed`, with latency
    /// faults of 2–5 s.
    pub(crate) fn start(upstream: &str, rate: f64, seed: u64) -> Self {
        let state = Arc::new(Mutex::new(State {
            rate,
            rng: seed | 1,
            latency: (2000, 5000),
            rules: Vec::new(),
            faulted: 0,
            requests: 0,
        }));
        let (tx, rx) = std::sync::mpsc::channel();
        let upstream = upstream.trim_end_matches('/').to_owned();
        let st = state.clone();
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .expect("proxy runtime");
            rt.block_on(async move {
                let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
                let addr = listener.local_addr().expect("addr");
                tx.send(format!("http://{addr}")).expect("url sent");
                let client = reqwest::Client::builder()
                    .no_proxy()
                    .build()
                    .expect("client");
                loop {
                    let Ok((conn, _)) = listener.accept().await else {
                        continue;
                    };
                    let (client, upstream, st) = (client.clone(), upstream.clone(), st.clone());
                    tokio::spawn(async move {
                        let _ = serve(conn, &client, &upstream, &st).await;
                    });
                }
            });
        });
        let url = rx.recv().expect("proxy started");
        Self { url, state }
    }

    /// Sets the random fault rate (0 turns random faults off; rules still apply).
    pub(crate) fn set_rate(&self, rate: f64) {
        self.state.lock().expect("state").rate = rate;
    }

    /// Faults every request matching the rule.
    pub(crate) fn add_rule(&self, rule: Rule) {
        self.state.lock().expect("state").rules.push(rule);
    }

    /// Requests seen and faulted so far.
    pub(crate) fn counts(&self) -> (usize, usize) {
        let s = self.state.lock().expect("state");
        (s.requests, s.faulted)
    }
}

struct Request {
    method: String,
    path: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

async fn read_request(r: &mut BufReader<TcpStream>) -> std::io::Result<Option<Request>> {
    let mut line = String::new();
    if r.read_line(&mut line).await? == 0 {
        return Ok(None);
    }
    let mut parts = line.split_whitespace();
    let method = parts.next().unwrap_or_default().to_owned();
    let path = parts.next().unwrap_or_default().to_owned();
    let mut headers = Vec::new();
    loop {
        line.clear();
        r.read_line(&mut line).await?;
        let l = line.trim_end();
        if l.is_empty() {
            break;
        }
        if let Some((k, v)) = l.split_once(':') {
            headers.push((k.trim().to_ascii_lowercase(), v.trim().to_owned()));
        }
    }
    let header = |n: &str| headers.iter().find(|(k, _)| k == n).map(|(_, v)| v.clone());
    let mut body = Vec::new();
    if header("transfer-encoding").is_some_and(|v| v.contains("chunked")) {
        loop {
            line.clear();
            r.read_line(&mut line).await?;
            let n = usize::from_str_radix(line.trim().split(';').next().unwrap_or("0"), 16)
                .unwrap_or(0);
            if n == 0 {
                line.clear();
                r.read_line(&mut line).await?;
                break;
            }
            let mut chunk = vec![0; n + 2];
            r.read_exact(&mut chunk).await?;
            body.extend_from_slice(&chunk[..n]);
        }
    } else if let Some(n) = header("content-length").and_then(|v| v.parse::<usize>().ok()) {
        body.resize(n, 0);
        r.read_exact(&mut body).await?;
    }
    Ok(Some(Request {
        method,
        path,
        headers,
        body,
    }))
}

/// CBOR text string.
fn cbor_text(out: &mut Vec<u8>, s: &str) {
    let n = s.len();
    if n < 24 {
        out.push(0x60 + n as u8);
    } else if n < 256 {
        out.extend_from_slice(&[0x78, n as u8]);
    } else {
        out.push(0x79);
        out.extend_from_slice(&(n as u16).to_be_bytes());
    }
    out.extend_from_slice(s.as_bytes());
}

/// The error answer for a request, in its protocol's shape.
fn error_response(req: &Request, code: &str, status: u16, message: &str) -> Vec<u8> {
    let target = req.headers.iter().any(|(k, _)| k == "x-amz-target");
    let (status, headers, body): (u16, Vec<(String, String)>, Vec<u8>) = if req
        .path
        .starts_with("/service/GraniteServiceVersion20100801")
    {
        let mut b = vec![0xa2];
        cbor_text(&mut b, "__type");
        cbor_text(&mut b, &format!("com.amazonaws.cloudwatch#{code}"));
        cbor_text(&mut b, "message");
        cbor_text(&mut b, message);
        let query_code = if code == "ThrottlingException" {
            "Throttling;Sender".to_owned()
        } else {
            format!("{code};Receiver")
        };
        (
            status,
            vec![
                ("Content-Type".into(), "application/cbor".into()),
                ("smithy-protocol".into(), "rpc-v2-cbor".into()),
                ("x-amzn-query-error".into(), query_code),
            ],
            b,
        )
    } else if target {
        (
            status,
            vec![
                ("Content-Type".into(), "application/x-amz-json-1.1".into()),
                ("x-amzn-ErrorType".into(), code.into()),
            ],
            serde_json::json!({"__type": code, "message": message})
                .to_string()
                .into_bytes(),
        )
    } else if String::from_utf8_lossy(&req.body).contains("Action=") {
        let code = if code == "ThrottlingException" {
            "Throttling"
        } else {
            code
        };
        (
            status,
            vec![("Content-Type".into(), "text/xml".into())],
            format!(
                "<ErrorResponse><Error><Type>Sender</Type><Code>{code}</Code><Message>{message}\
                     </Message></Error><RequestId>fault-proxy</RequestId></ErrorResponse>"
            )
            .into_bytes(),
        )
    } else {
        (
            status,
            vec![
                ("Content-Type".into(), "application/json".into()),
                ("x-amzn-ErrorType".into(), code.into()),
            ],
            serde_json::json!({"message": message})
                .to_string()
                .into_bytes(),
        )
    };
    let mut out = format!("HTTP/1.1 {status} Fault\r\n").into_bytes();
    for (k, v) in headers {
        out.extend_from_slice(format!("{k}: {v}\r\n").as_bytes());
    }
    out.extend_from_slice(
        format!(
            "x-amzn-RequestId: fault-proxy\r\ncontent-length: {}\r\n\r\n",
            body.len()
        )
        .as_bytes(),
    );
    out.extend_from_slice(&body);
    out
}

async fn forward(
    client: &reqwest::Client,
    upstream: &str,
    req: &Request,
) -> Result<Vec<u8>, reqwest::Error> {
    let method = reqwest::Method::from_bytes(req.method.as_bytes()).unwrap_or(reqwest::Method::GET);
    let mut b = client.request(method, format!("{upstream}{}", req.path));
    for (k, v) in &req.headers {
        if !matches!(
            k.as_str(),
            "host" | "content-length" | "connection" | "transfer-encoding" | "expect"
        ) {
            b = b.header(k, v);
        }
    }
    let resp = b.body(req.body.clone()).send().await?;
    let status = resp.status();
    let headers = resp.headers().clone();
    let body = resp.bytes().await?;
    let mut out = format!(
        "HTTP/1.1 {} {}\r\n",
        status.as_u16(),
        status.canonical_reason().unwrap_or("OK")
    )
    .into_bytes();
    for (k, v) in &headers {
        if !matches!(
            k.as_str(),
            "content-length" | "transfer-encoding" | "connection"
        ) {
            out.extend_from_slice(k.as_str().as_bytes());
            out.extend_from_slice(b": ");
            out.extend_from_slice(v.as_bytes());
            out.extend_from_slice(b"\r\n");
        }
    }
    out.extend_from_slice(format!("content-length: {}\r\n\r\n", body.len()).as_bytes());
    out.extend_from_slice(&body);
    Ok(out)
}

async fn serve(
    conn: TcpStream,
    client: &reqwest::Client,
    upstream: &str,
    state: &Mutex<State>,
) -> std::io::Result<()> {
    let mut r = BufReader::new(conn);
    while let Some(req) = read_request(&mut r).await? {
        let emulator_only =
            req.path.starts_with("/_gameday/") || req.path.starts_with("/moto-api/");
        let fault = if emulator_only {
            None
        } else {
            state
                .lock()
                .expect("state")
                .decide(&req.method, &req.path, &req.body)
        };
        let answer = match fault {
            Some(Fault::Throttle) => {
                let status = if req.path.starts_with('/')
                    && !req.path.starts_with("/service/")
                    && !req.headers.iter().any(|(k, _)| k == "x-amz-target")
                    && !String::from_utf8_lossy(&req.body).contains("Action=")
                {
                    429
                } else {
                    400
                };
                error_response(&req, "ThrottlingException", status, "Rate exceeded")
            }
            Some(Fault::ServerError(code)) => {
                let name = if code == 503 {
                    "ServiceUnavailableException"
                } else {
                    "InternalFailure"
                };
                error_response(&req, name, code, "fault proxy: server error")
            }
            Some(Fault::ResetBefore) => {
                let conn = r.into_inner();
                conn.set_zero_linger()?;
                drop(conn);
                return Ok(());
            }
            Some(Fault::ResetAfter) => {
                let _ = forward(client, upstream, &req).await;
                let conn = r.into_inner();
                conn.set_zero_linger()?;
                drop(conn);
                return Ok(());
            }
            Some(Fault::Latency(d)) => {
                tokio::time::sleep(d).await;
                forward_or_502(client, upstream, &req).await
            }
            None => forward_or_502(client, upstream, &req).await,
        };
        r.get_mut().write_all(&answer).await?;
        r.get_mut().flush().await?;
    }
    Ok(())
}

async fn forward_or_502(client: &reqwest::Client, upstream: &str, req: &Request) -> Vec<u8> {
    match forward(client, upstream, req).await {
        Ok(a) => a,
        Err(e) => error_response(req, "BadGateway", 502, &format!("upstream: {e}")),
    }
}
