//! A webhook receiver inside the test: an axum server on port 0 that records every delivery and
//! answers what the test's plan says (200 by default), plus raw TCP receivers that misbehave.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use hmac::{Hmac, Mac};
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[derive(Clone, Debug)]
pub struct Received {
    pub headers: HeaderMap,
    pub body: Bytes,
    pub at: Instant,
}

impl Received {
    pub fn header(&self, name: &str) -> String {
        self.headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or("").to_string()
    }

    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).expect("a JSON body")
    }

    pub fn id(&self) -> String {
        self.header("webhook-id")
    }

    /// The `v1` signatures of the delivery that `secret` verifies (Standard Webhooks).
    pub fn verified_by(&self, secret: &str) -> bool {
        let key = base64::engine::general_purpose::STANDARD
            .decode(secret.strip_prefix("whsec_").expect("a whsec_ secret"))
            .expect("base64");
        let mut mac = Hmac::<sha2::Sha256>::new_from_slice(&key).unwrap();
        mac.update(format!("{}.{}.", self.id(), self.header("webhook-timestamp")).as_bytes());
        mac.update(&self.body);
        let expected = format!("v1,{}", base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes()));
        self.header("webhook-signature").split(' ').any(|sig| sig == expected)
    }
}

/// What the receiver answers.
#[derive(Clone, Debug)]
pub enum Reply {
    Status(u16),
    /// A status with `Retry-After: <seconds>`.
    RetryAfter(u16, u64),
    /// Never answers (the sender's timeout ends the attempt).
    Hang,
    /// Answers this status after this long.
    Late(Duration, u16),
}

type Plan = Arc<dyn Fn(&Received, usize) -> Reply + Send + Sync>;

#[derive(Clone)]
pub struct Receiver {
    pub url: String,
    pub received: Arc<Mutex<Vec<Received>>>,
}

impl Receiver {
    /// Answers 200 to everything.
    pub async fn start() -> Receiver {
        Self::with_plan(|_, _| Reply::Status(200)).await
    }

    /// Answers `plan(delivery, how many came before it)`.
    pub async fn with_plan(plan: impl Fn(&Received, usize) -> Reply + Send + Sync + 'static) -> Receiver {
        let received: Arc<Mutex<Vec<Received>>> = Arc::default();
        let plan: Plan = Arc::new(plan);
        let store = received.clone();
        let app = axum::Router::new().fallback(move |headers: HeaderMap, body: Bytes| {
            let (store, plan) = (store.clone(), plan.clone());
            async move { answer(store, plan, headers, body).await }
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hooks", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Receiver { url, received }
    }

    pub fn all(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }

    pub fn count(&self) -> usize {
        self.received.lock().unwrap().len()
    }

    /// Waits until `n` deliveries arrived (at most `within`).
    pub async fn wait_for(&self, n: usize, within: Duration) -> Vec<Received> {
        let deadline = Instant::now() + within;
        loop {
            let all = self.all();
            if all.len() >= n || Instant::now() > deadline {
                return all;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

async fn answer(store: Arc<Mutex<Vec<Received>>>, plan: Plan, headers: HeaderMap, body: Bytes) -> Response {
    let received = Received { headers, body, at: Instant::now() };
    let reply = {
        let mut all = store.lock().unwrap();
        let reply = plan(&received, all.len());
        all.push(received);
        reply
    };
    match reply {
        Reply::Status(code) => StatusCode::from_u16(code).unwrap().into_response(),
        Reply::RetryAfter(code, seconds) => {
            (StatusCode::from_u16(code).unwrap(), [("retry-after", seconds.to_string())]).into_response()
        }
        Reply::Hang => {
            tokio::time::sleep(Duration::from_secs(3600)).await;
            StatusCode::OK.into_response()
        }
        Reply::Late(after, code) => {
            tokio::time::sleep(after).await;
            StatusCode::from_u16(code).unwrap().into_response()
        }
    }
}

/// A raw TCP receiver that reads the request head and then writes `answer` (and closes).
pub async fn raw_receiver(answer: Vec<u8>) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/raw", listener.local_addr().unwrap());
    tokio::spawn(async move {
        loop {
            let Ok((mut socket, _)) = listener.accept().await else { return };
            let answer = answer.clone();
            tokio::spawn(async move {
                let mut buffer = vec![0u8; 65536];
                let _ = tokio::time::timeout(Duration::from_millis(300), socket.read(&mut buffer)).await;
                let _ = socket.write_all(&answer).await;
                let _ = socket.shutdown().await;
            });
        }
    });
    url
}

/// A URL on which nothing listens.
pub async fn refused_url() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/nobody", listener.local_addr().unwrap());
    drop(listener);
    url
}
