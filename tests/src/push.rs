//! A Web Push service on 127.0.0.1 that holds the subscriptions' private
//! keys: it checks the VAPID token of every request (RFC 8292, ES256 with the
//! server's key), decrypts every message (RFC 8291, aes128gcm) and records
//! what it got. Replies can be scripted per subscription (410, 429, ...).

use std::{
    collections::{HashMap, HashSet, VecDeque},
    net::SocketAddr,
    sync::{Arc, Mutex},
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};

use aes_gcm::{Aes128Gcm, KeyInit, Nonce, aead::Aead};
use axum::{
    Router,
    body::Bytes,
    extract::{Path, State},
    http::{HeaderMap, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
    routing::post,
};
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD as B64};
use hkdf::Hkdf;
use kvo_api::push::{NewSubscription, PushMessage, SubscriptionKeys};
use p256::{
    PublicKey, SecretKey,
    ecdsa::{Signature, VerifyingKey, signature::Verifier},
    elliptic_curve::sec1::ToEncodedPoint,
};
use sha2::Sha256;
use uuid::Uuid;

/// One decrypted message and the headers it came with.
#[derive(Debug, Clone)]
pub struct Received {
    /// Which subscription (the last path segment of its endpoint).
    pub token: String,
    pub message: PushMessage,
    pub ttl: u32,
    pub urgency: Option<String>,
    pub topic: Option<String>,
    /// The encrypted body's size.
    pub body_len: usize,
    pub at: Instant,
}

/// A scripted reply, sent instead of accepting the message.
#[derive(Debug, Clone, Copy)]
pub enum Reply {
    Status(u16),
    TooMany { retry_after: Option<u64> },
}

struct Keys {
    secret: SecretKey,
    public: Vec<u8>,
    auth: [u8; 16],
}

#[derive(Default)]
struct Inner {
    keys: Mutex<HashMap<String, Arc<Keys>>>,
    script: Mutex<HashMap<String, VecDeque<Reply>>>,
    received: Mutex<Vec<Received>>,
    /// Requests that failed a check, with the reason.
    failures: Mutex<Vec<String>>,
    /// Requests answered with a scripted reply, per token, with when.
    refused: Mutex<Vec<(String, u16, Instant)>>,
    /// The VAPID key the server must sign with (base64url), once known.
    server_key: Mutex<Option<String>>,
    /// JWTs whose signature has been verified (the claims are still checked every time).
    verified: Mutex<HashSet<String>>,
    delay: Mutex<Duration>,
    changed: tokio::sync::Notify,
}

/// The receiver; it stops with the test's runtime.
#[derive(Clone)]
pub struct PushReceiver {
    pub addr: SocketAddr,
    inner: Arc<Inner>,
}

impl PushReceiver {
    pub async fn start() -> PushReceiver {
        let inner = Arc::new(Inner::default());
        let app = Router::new().route("/push/{token}", post(receive)).with_state(inner.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind the push receiver");
        let addr = listener.local_addr().expect("local addr");
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        PushReceiver { addr, inner }
    }

    /// The server's VAPID public key every request must carry.
    pub fn expect_server_key(&self, key: &str) {
        *self.inner.server_key.lock().unwrap() = Some(key.to_string());
    }

    /// Holds every request this long before answering (a slow push service).
    pub fn set_delay(&self, d: Duration) {
        *self.inner.delay.lock().unwrap() = d;
    }

    /// A new browser subscription for `area_id`: fresh keys, an endpoint here.
    pub fn subscription(&self, area_id: Uuid) -> NewSubscription {
        let secret = loop {
            if let Ok(k) = SecretKey::from_slice(&rand::random::<[u8; 32]>()) {
                break k;
            }
        };
        let public = secret.public_key().to_encoded_point(false).as_bytes().to_vec();
        let auth = rand::random::<[u8; 16]>();
        let token = Uuid::new_v4().simple().to_string();
        let sub = NewSubscription {
            area_id,
            endpoint: format!("http://{}/push/{token}", self.addr),
            expiration_time: None,
            keys: SubscriptionKeys { p256dh: B64.encode(&public), auth: B64.encode(auth) },
        };
        self.inner.keys.lock().unwrap().insert(token, Arc::new(Keys { secret, public, auth }));
        sub
    }

    /// The token of a subscription's endpoint.
    pub fn token(sub: &NewSubscription) -> String {
        sub.endpoint.rsplit('/').next().unwrap_or_default().to_string()
    }

    /// Answers the next requests for `token` with these replies, in order.
    pub fn script(&self, token: &str, replies: impl IntoIterator<Item = Reply>) {
        self.inner.script.lock().unwrap().entry(token.to_string()).or_default().extend(replies);
    }

    pub fn received(&self) -> Vec<Received> {
        self.inner.received.lock().unwrap().clone()
    }

    pub fn failures(&self) -> Vec<String> {
        self.inner.failures.lock().unwrap().clone()
    }

    /// Scripted refusals sent so far: (token, status, when).
    pub fn refused(&self) -> Vec<(String, u16, Instant)> {
        self.inner.refused.lock().unwrap().clone()
    }

    /// Waits until `done(received)` holds, or panics after `timeout`.
    pub async fn wait_for(&self, timeout: Duration, what: &str, done: impl Fn(&[Received]) -> bool) {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let notified = self.inner.changed.notified();
            if done(&self.inner.received.lock().unwrap()) {
                return;
            }
            let failures = self.failures();
            assert!(failures.is_empty(), "the receiver rejected requests: {failures:?}");
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                panic!(
                    "timed out after {timeout:?} waiting for {what}; got {} messages",
                    self.received().len()
                );
            }
        }
    }
}

async fn receive(
    State(inner): State<Arc<Inner>>,
    Path(token): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let delay = *inner.delay.lock().unwrap();
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    let scripted = inner.script.lock().unwrap().get_mut(&token).and_then(VecDeque::pop_front);
    if let Some(reply) = scripted {
        let (status, retry_after) = match reply {
            Reply::Status(s) => (s, None),
            Reply::TooMany { retry_after } => (429, retry_after),
        };
        inner.refused.lock().unwrap().push((token, status, Instant::now()));
        let mut res = StatusCode::from_u16(status).unwrap_or(StatusCode::IM_A_TEAPOT).into_response();
        if let Some(s) = retry_after {
            res.headers_mut().insert("retry-after", HeaderValue::from(s));
        }
        inner.changed.notify_waiters();
        return res;
    }
    match accept(&inner, &token, &headers, &body) {
        Ok(r) => {
            inner.received.lock().unwrap().push(r);
            inner.changed.notify_waiters();
            StatusCode::CREATED.into_response()
        }
        Err(why) => {
            inner.failures.lock().unwrap().push(format!("{token}: {why}"));
            inner.changed.notify_waiters();
            (StatusCode::BAD_REQUEST, why).into_response()
        }
    }
}

fn header<'a>(h: &'a HeaderMap, name: &str) -> Option<&'a str> {
    h.get(name).and_then(|v| v.to_str().ok())
}

fn accept(inner: &Inner, token: &str, h: &HeaderMap, body: &[u8]) -> Result<Received, String> {
    let keys = inner.keys.lock().unwrap().get(token).cloned().ok_or("unknown subscription")?;
    if header(h, "content-encoding") != Some("aes128gcm") {
        return Err(format!("Content-Encoding {:?}", header(h, "content-encoding")));
    }
    let ttl: u32 = header(h, "ttl").and_then(|v| v.parse().ok()).ok_or("no TTL")?;
    check_vapid(inner, h)?;
    let plain = decrypt(&keys, body)?;
    let message: PushMessage =
        serde_json::from_slice(&plain).map_err(|e| format!("payload is not a PushMessage: {e}"))?;
    Ok(Received {
        token: token.to_string(),
        message,
        ttl,
        urgency: header(h, "urgency").map(str::to_string),
        topic: header(h, "topic").map(str::to_string),
        body_len: body.len(),
        at: Instant::now(),
    })
}

/// RFC 8292: `Authorization: vapid t=<JWT>, k=<server key>`; an ES256 JWT
/// whose `aud` is this origin (no port), `exp` within 24 hours, and a `sub`.
fn check_vapid(inner: &Inner, h: &HeaderMap) -> Result<(), String> {
    let auth = header(h, "authorization").ok_or("no Authorization")?;
    let rest = auth.strip_prefix("vapid ").ok_or("not a vapid Authorization")?;
    let mut t = None;
    let mut k = None;
    for part in rest.split(',') {
        match part.trim().split_once('=') {
            Some(("t", v)) => t = Some(v),
            Some(("k", v)) => k = Some(v),
            _ => {}
        }
    }
    let (t, k) = (t.ok_or("no t=")?, k.ok_or("no k=")?);
    if let Some(expected) = inner.server_key.lock().unwrap().as_deref()
        && expected != k
    {
        return Err("k is not the server's VAPID key".into());
    }
    let mut parts = t.split('.');
    let (Some(head), Some(claims), Some(sig), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err("the JWT has no three parts".into());
    };
    let head: serde_json::Value =
        serde_json::from_slice(&B64.decode(head).map_err(|_| "JWT header")?).map_err(|_| "JWT header")?;
    if head["alg"] != "ES256" {
        return Err(format!("JWT alg {}", head["alg"]));
    }
    if !inner.verified.lock().unwrap().contains(t) {
        let key = VerifyingKey::from_sec1_bytes(&B64.decode(k).map_err(|_| "k is not base64url")?)
            .map_err(|_| "k is not a P-256 key")?;
        let sig = Signature::from_slice(&B64.decode(sig).map_err(|_| "JWT signature")?)
            .map_err(|_| "JWT signature")?;
        let signed = &t[..t.len() - t.rsplit('.').next().map_or(0, str::len) - 1];
        key.verify(signed.as_bytes(), &sig).map_err(|_| "the VAPID signature does not verify")?;
        inner.verified.lock().unwrap().insert(t.to_string());
    }
    let claims: serde_json::Value =
        serde_json::from_slice(&B64.decode(claims).map_err(|_| "JWT claims")?).map_err(|_| "JWT claims")?;
    if claims["aud"] != "http://127.0.0.1" {
        return Err(format!("aud {}", claims["aud"]));
    }
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs();
    let exp = claims["exp"].as_u64().ok_or("no exp")?;
    if exp <= now || exp > now + 24 * 3600 {
        return Err(format!("exp {exp} is not within 24 hours"));
    }
    let sub = claims["sub"].as_str().ok_or("no sub")?;
    if !(sub.starts_with("mailto:") || sub.starts_with("https:")) {
        return Err(format!("sub {sub}"));
    }
    Ok(())
}

/// RFC 8291 / RFC 8188: one aes128gcm record, keyed from the ECDH secret of
/// the subscription's key and the sender's one-off key, and the auth secret.
fn decrypt(keys: &Keys, body: &[u8]) -> Result<Vec<u8>, String> {
    if body.len() < 21 {
        return Err("body shorter than the aes128gcm header".into());
    }
    let salt = &body[..16];
    let rs = u32::from_be_bytes(body[16..20].try_into().unwrap()) as usize;
    let idlen = body[20] as usize;
    if idlen != 65 || body.len() < 21 + idlen + 17 {
        return Err(format!("keyid of {idlen} bytes"));
    }
    let sender = &body[21..21 + idlen];
    let ciphertext = &body[21 + idlen..];
    if ciphertext.len() > rs {
        return Err("more than one record".into());
    }
    let sender_key = PublicKey::from_sec1_bytes(sender).map_err(|_| "keyid is not a P-256 key")?;
    let shared = p256::ecdh::diffie_hellman(keys.secret.to_nonzero_scalar(), sender_key.as_affine());
    let mut key_info = b"WebPush: info\0".to_vec();
    key_info.extend_from_slice(&keys.public);
    key_info.extend_from_slice(sender);
    let mut ikm = [0u8; 32];
    Hkdf::<Sha256>::new(Some(&keys.auth), shared.raw_secret_bytes())
        .expand(&key_info, &mut ikm)
        .map_err(|_| "hkdf")?;
    let prk = Hkdf::<Sha256>::new(Some(salt), &ikm);
    let mut cek = [0u8; 16];
    let mut nonce = [0u8; 12];
    prk.expand(b"Content-Encoding: aes128gcm\0", &mut cek).map_err(|_| "hkdf")?;
    prk.expand(b"Content-Encoding: nonce\0", &mut nonce).map_err(|_| "hkdf")?;
    let cipher = Aes128Gcm::new_from_slice(&cek).map_err(|_| "cek")?;
    let mut plain =
        cipher.decrypt(Nonce::from_slice(&nonce), ciphertext).map_err(|_| "the message does not decrypt")?;
    // Padding: the last record ends in 0x02 followed by zeros.
    while plain.last() == Some(&0) {
        plain.pop();
    }
    if plain.pop() != Some(2) {
        return Err("no last-record delimiter".into());
    }
    Ok(plain)
}
