//! Webhook deliveries to the App's webhook URL: prepared (and signed) while the state is
//! locked, sent in order after it is released, and logged so one can be sent again with the
//! same delivery id.

use crate::fake::state::State;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::Sha256;
use std::sync::Mutex;
use std::time::Duration;

/// GitHub gives a receiver ten seconds to answer a delivery.
const DELIVERY_TIMEOUT: Duration = Duration::from_secs(10);
/// `X-GitHub-Hook-ID` of the App's webhook.
const HOOK_ID: u64 = 424_242;
/// Deliveries kept for sending again.
const LOG_LIMIT: usize = 1000;

/// How a delivery is signed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Signature {
    /// `X-Hub-Signature-256` of the body with the App's webhook secret.
    #[default]
    Valid,
    /// A well-formed signature made with another secret.
    Bad,
    /// No `X-Hub-Signature-256` at all.
    Missing,
}

/// A webhook to send as given (or, with only `delivery_id`, a logged one to send again).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct DeliverWebhook {
    /// `X-GitHub-Event`, e.g. `installation`.
    #[serde(default)]
    pub event: Option<String>,
    /// The JSON body.
    #[serde(default)]
    pub payload: Option<Value>,
    /// `X-GitHub-Delivery`; a fresh GUID when absent.
    #[serde(default)]
    pub delivery_id: Option<String>,
    /// Signed right (the default), wrongly, or not at all.
    #[serde(default)]
    pub signature: Signature,
}

/// What became of one delivery.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Delivery {
    /// `X-GitHub-Delivery`.
    pub delivery_id: String,
    /// `X-GitHub-Event`.
    pub event: String,
    /// The payload's `action`, if it has one.
    pub action: Option<String>,
    /// The receiver's status code; `None` when nothing answered.
    pub status: Option<u16>,
    /// Why nothing answered (no webhook URL, connection refused, timeout).
    pub error: Option<String>,
}

/// A delivery ready to send: everything taken from the state while it was locked.
#[derive(Clone, Debug)]
pub(crate) struct Prepared {
    id: String,
    event: String,
    action: Option<String>,
    body: Vec<u8>,
    url: Option<String>,
    signature: Option<String>,
    target_id: u64,
}

/// Deliveries waiting to be sent, and those sent.
#[derive(Debug, Default)]
pub(crate) struct Hooks {
    outbox: Vec<Prepared>,
    log: Vec<(Prepared, Delivery)>,
}

/// `sha256=` and the hex HMAC-SHA256 of `body` keyed with `secret`.
pub fn signature(secret: &str, body: &[u8]) -> String {
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret.as_bytes()) else {
        // HMAC takes keys of any length: this never happens.
        return String::new();
    };
    mac.update(body);
    let digest = mac.finalize().into_bytes();
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256={hex}")
}

impl Hooks {
    /// Queues a delivery of `payload` as `event` to the App's webhook URL; returns its id.
    pub fn prepare(
        &mut self,
        app: &super::world::GithubApp,
        event: &str,
        payload: &Value,
        id: Option<String>,
        signing: Signature,
    ) -> String {
        let body = serde_json::to_vec(payload).unwrap_or_default();
        self.queue(app, event, body, id, signing)
    }

    fn queue(
        &mut self,
        app: &super::world::GithubApp,
        event: &str,
        body: Vec<u8>,
        id: Option<String>,
        signing: Signature,
    ) -> String {
        let id = id.unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
        let action = serde_json::from_slice::<Value>(&body)
            .ok()
            .and_then(|v| v.get("action").and_then(Value::as_str).map(str::to_owned));
        let signature = match signing {
            Signature::Valid => Some(signature(&app.webhook_secret, &body)),
            Signature::Bad => Some(signature(&format!("{}-not", app.webhook_secret), &body)),
            Signature::Missing => None,
        };
        self.outbox.push(Prepared {
            id: id.clone(),
            event: event.to_owned(),
            action,
            body,
            url: app.webhook_url.clone(),
            signature,
            target_id: app.app_id,
        });
        id
    }

    /// Queues the logged delivery `id` again, byte for byte, signed with today's secret.
    pub fn prepare_again(
        &mut self,
        app: &super::world::GithubApp,
        id: &str,
        signing: Signature,
    ) -> Option<String> {
        let (sent, _) = self.log.iter().rev().find(|(p, _)| p.id == id)?;
        let (event, body) = (sent.event.clone(), sent.body.clone());
        Some(self.queue(app, &event, body, Some(id.to_owned()), signing))
    }

    fn take(&mut self) -> Vec<Prepared> {
        std::mem::take(&mut self.outbox)
    }

    fn record(&mut self, prepared: Prepared, delivery: Delivery) {
        if self.log.len() >= LOG_LIMIT {
            self.log.remove(0);
        }
        self.log.push((prepared, delivery));
    }

    /// Deliveries sent so far, oldest first.
    pub fn deliveries(&self) -> Vec<Delivery> {
        self.log.iter().map(|(_, d)| d.clone()).collect()
    }
}

/// Sends deliveries over HTTP, the way GitHub's hookshot does.
#[derive(Clone, Debug)]
pub(crate) struct Deliverer {
    client: reqwest::Client,
}

impl Deliverer {
    /// A sender that waits at most ten seconds and never follows redirects.
    pub fn new() -> Self {
        let client = reqwest::Client::builder()
            .timeout(DELIVERY_TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap_or_default();
        Self { client }
    }

    async fn send(&self, prepared: &Prepared) -> Delivery {
        let mut delivery = Delivery {
            delivery_id: prepared.id.clone(),
            event: prepared.event.clone(),
            action: prepared.action.clone(),
            status: None,
            error: None,
        };
        let Some(url) = &prepared.url else {
            delivery.error = Some("the App has no webhook URL".into());
            return delivery;
        };
        let mut request = self
            .client
            .post(url)
            .header("X-GitHub-Event", &prepared.event)
            .header("X-GitHub-Delivery", &prepared.id)
            .header("X-GitHub-Hook-ID", HOOK_ID.to_string())
            .header("X-GitHub-Hook-Installation-Target-Type", "integration")
            .header(
                "X-GitHub-Hook-Installation-Target-ID",
                prepared.target_id.to_string(),
            )
            .header("User-Agent", "GitHub-Hookshot/fake")
            .header("Content-Type", "application/json")
            .body(prepared.body.clone());
        if let Some(signature) = &prepared.signature {
            request = request.header("X-Hub-Signature-256", signature);
        }
        match request.send().await {
            Ok(response) => delivery.status = Some(response.status().as_u16()),
            Err(e) => delivery.error = Some(e.to_string()),
        }
        delivery
    }
}

fn lock(shared: &Mutex<State>) -> std::sync::MutexGuard<'_, State> {
    shared.lock().unwrap_or_else(|e| e.into_inner())
}

/// Sends every queued delivery, in order, without holding the lock while one is in flight.
pub(crate) async fn flush(shared: &Mutex<State>, deliverer: &Deliverer) -> Vec<Delivery> {
    let outbox = lock(shared).github.hooks.take();
    let mut sent = Vec::with_capacity(outbox.len());
    for prepared in outbox {
        let delivery = deliverer.send(&prepared).await;
        lock(shared).github.hooks.record(prepared, delivery.clone());
        sent.push(delivery);
    }
    sent
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signature_matches_githubs_documented_example() {
        // From GitHub's "Validating webhook deliveries": secret "It's a Secret to Everybody",
        // payload "Hello, World!".
        assert_eq!(
            signature("It's a Secret to Everybody", b"Hello, World!"),
            "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
        );
    }
}
