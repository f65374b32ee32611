//! Tests give Redis a random namespace each; this forgets one when the test ends.

/// Deletes every Redis key of a test's namespace, and its queues from apalis's global list.
pub async fn forget_namespace(url: &str, namespace: &str) {
    let Ok(client) = redis::Client::open(url) else {
        return;
    };
    let Ok(mut conn) = client.get_multiplexed_async_connection().await else {
        return;
    };
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg(format!("{namespace}*"))
        .query_async(&mut conn)
        .await
        .unwrap_or_default();
    for chunk in keys.chunks(500) {
        let _: Result<(), _> = redis::cmd("DEL").arg(chunk).query_async(&mut conn).await;
    }
    let queues: Vec<String> = redis::cmd("ZRANGE")
        .arg(APALIS_QUEUES)
        .arg(0)
        .arg(-1)
        .query_async(&mut conn)
        .await
        .unwrap_or_default();
    let ours: Vec<&String> = queues.iter().filter(|q| q.starts_with(namespace)).collect();
    if !ours.is_empty() {
        let _: Result<(), _> = redis::cmd("ZREM")
            .arg(APALIS_QUEUES)
            .arg(ours)
            .query_async(&mut conn)
            .await;
    }
}

/// apalis-redis registers every queue it serves here, whatever the namespace.
const APALIS_QUEUES: &str = "core:apalis:queues:list";
