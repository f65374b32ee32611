//! Redis pub/sub under the event bus: one task publishes in order, one listens and reconnects
//! by itself; both stop when the bus is dropped.

use super::Message;
use futures::StreamExt;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;
use tokio::sync::{broadcast, mpsc};
use tokio_util::sync::{CancellationToken, DropGuard};

/// Messages waiting to be published before new ones are dropped (Redis unreachable).
const OUTBOX: usize = 10_000;

/// The longest pause between reconnection attempts.
const MAX_BACKOFF: Duration = Duration::from_secs(5);

/// Sends to Redis; owned by the bus.
pub(super) struct Publisher {
    outbox: mpsc::Sender<Message>,
    listening: Arc<AtomicBool>,
    dropped: AtomicU64,
    _stop: DropGuard,
}

impl Publisher {
    /// Starts the publishing and listening tasks on `channel`.
    pub(super) fn start(
        client: redis::Client,
        channel: String,
        local: broadcast::Sender<Arc<Message>>,
    ) -> Self {
        let stop = CancellationToken::new();
        let (outbox, rx) = mpsc::channel(OUTBOX);
        let listening = Arc::new(AtomicBool::new(false));
        tokio::spawn(publish_loop(
            client.clone(),
            channel.clone(),
            rx,
            stop.clone(),
        ));
        tokio::spawn(listen_loop(
            client,
            channel,
            local,
            listening.clone(),
            stop.clone(),
        ));
        Self {
            outbox,
            listening,
            dropped: AtomicU64::new(0),
            _stop: stop.drop_guard(),
        }
    }

    pub(super) fn publish(&self, message: Message) {
        if self.outbox.try_send(message).is_err() {
            // Logged on the first and then every thousandth, so an outage does not flood logs.
            let dropped = self.dropped.fetch_add(1, Ordering::Relaxed);
            if dropped.is_multiple_of(1000) {
                tracing::warn!(
                    dropped = dropped + 1,
                    "live events are being dropped: Redis is not taking them"
                );
            }
        }
    }

    pub(super) fn is_listening(&self) -> bool {
        self.listening.load(Ordering::Relaxed)
    }
}

async fn publish_loop(
    client: redis::Client,
    channel: String,
    mut outbox: mpsc::Receiver<Message>,
    stop: CancellationToken,
) {
    let mut connection = None;
    let mut backoff = Duration::from_millis(100);
    loop {
        let message = tokio::select! {
            () = stop.cancelled() => return,
            message = outbox.recv() => match message {
                Some(message) => message,
                None => return,
            },
        };
        let Ok(payload) = serde_json::to_string(&message) else {
            continue;
        };
        // One attempt to (re)connect per message: while Redis is away messages are dropped
        // rather than queued without bound; subscribers catch up by reading.
        if connection.is_none() {
            match redis::aio::ConnectionManager::new(client.clone()).await {
                Ok(conn) => {
                    connection = Some(conn);
                    backoff = Duration::from_millis(100);
                }
                Err(err) => {
                    tracing::warn!(error = %err, "cannot publish live events to Redis");
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(MAX_BACKOFF);
                    continue;
                }
            }
        }
        if let Some(conn) = connection.as_mut() {
            let sent: redis::RedisResult<i64> = redis::cmd("PUBLISH")
                .arg(&channel)
                .arg(payload)
                .query_async(conn)
                .await;
            if let Err(err) = sent {
                tracing::warn!(error = %err, "a live event could not be published");
            }
        }
    }
}

async fn listen_loop(
    client: redis::Client,
    channel: String,
    local: broadcast::Sender<Arc<Message>>,
    listening: Arc<AtomicBool>,
    stop: CancellationToken,
) {
    let mut backoff = Duration::from_millis(100);
    loop {
        let connected = async {
            let mut pubsub = client.get_async_pubsub().await?;
            pubsub.subscribe(&channel).await?;
            Ok::<_, redis::RedisError>(pubsub)
        };
        let pubsub = tokio::select! {
            () = stop.cancelled() => return,
            connected = connected => connected,
        };
        match pubsub {
            Ok(pubsub) => {
                listening.store(true, Ordering::Relaxed);
                backoff = Duration::from_millis(100);
                tracing::info!(%channel, "listening for live events in Redis");
                let mut messages = pubsub.into_on_message();
                loop {
                    let next = tokio::select! {
                        () = stop.cancelled() => return,
                        next = messages.next() => next,
                    };
                    let Some(message) = next else { break };
                    let Ok(payload) = message.get_payload::<Vec<u8>>() else {
                        continue;
                    };
                    match serde_json::from_slice::<Message>(&payload) {
                        Ok(message) => {
                            let _ = local.send(Arc::new(message));
                        }
                        Err(err) => tracing::warn!(error = %err, "an unreadable live event"),
                    }
                }
                listening.store(false, Ordering::Relaxed);
                tracing::warn!(%channel, "lost the live-event connection to Redis; reconnecting");
            }
            Err(err) => {
                tracing::warn!(error = %err, "cannot listen for live events in Redis");
            }
        }
        tokio::select! {
            () = stop.cancelled() => return,
            () = tokio::time::sleep(backoff) => {}
        }
        backoff = (backoff * 2).min(MAX_BACKOFF);
    }
}
