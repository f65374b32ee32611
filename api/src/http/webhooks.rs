//! `POST /webhooks/github`: the Tether GitHub App's webhook deliveries. No Authorization header:
//! the `X-Hub-Signature-256` HMAC under the webhook secret is the authentication, checked over
//! the raw body before anything is parsed or recorded. The body is capped before it is read
//! whole. GitHub gives a delivery 10 seconds: handling is a few targeted writes, discoveries go
//! to the job queue, and a delivery that still runs past the deadline is abandoned (nothing
//! recorded, so it can be redelivered).

use crate::services::github_webhooks::{self, Receipt};
use crate::state::AppState;
use actix_web::http::StatusCode;
use actix_web::http::header::CONTENT_LENGTH;
use actix_web::{HttpRequest, HttpResponse, web};
use futures::StreamExt;
use jobs::providers::github::webhooks::{
    DELIVERY_HEADER, DeliveryId, EVENT_HEADER, MAX_BODY, SIGNATURE_HEADER, parse, verify,
};
use serde_json::json;
use std::time::Duration;

/// How long handling may take; GitHub gives up on a delivery after 10 seconds.
const DEADLINE: Duration = Duration::from_secs(8);

fn reply(status: StatusCode, body: serde_json::Value) -> HttpResponse {
    HttpResponse::build(status).json(body)
}

fn refuse(status: StatusCode, message: &str) -> HttpResponse {
    reply(status, json!({"error": message}))
}

/// Reads the body, refusing one over [`MAX_BODY`] by its declared length or as it arrives.
async fn read_body(req: &HttpRequest, mut payload: web::Payload) -> Result<Vec<u8>, HttpResponse> {
    let too_large = || refuse(StatusCode::PAYLOAD_TOO_LARGE, "the delivery is too large");
    let declared = req
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|length| length > MAX_BODY as u64) {
        return Err(too_large());
    }
    let mut body = Vec::new();
    while let Some(chunk) = payload.next().await {
        let Ok(chunk) = chunk else {
            return Err(refuse(
                StatusCode::BAD_REQUEST,
                "the delivery's body could not be read",
            ));
        };
        if body.len() + chunk.len() > MAX_BODY {
            return Err(too_large());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// Handles one GitHub App webhook delivery.
pub async fn github(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> HttpResponse {
    let Some(secret) = &state.github.webhook_secret else {
        tracing::error!(
            "a GitHub webhook delivery was refused: TETHER_GITHUB_WEBHOOK_SECRET is not set, so \
             deliveries cannot be verified"
        );
        return refuse(
            StatusCode::SERVICE_UNAVAILABLE,
            "GitHub webhooks are not configured on this server (TETHER_GITHUB_WEBHOOK_SECRET is not set)",
        );
    };
    let headers = req.headers();
    let signature = headers.get(SIGNATURE_HEADER).map(|v| v.as_bytes().to_vec());
    // Unsigned deliveries are refused before their body is read.
    if signature.is_none() {
        tracing::warn!("a GitHub webhook delivery without a signature was refused");
        return refuse(StatusCode::UNAUTHORIZED, "the delivery is not signed");
    }
    let event_name = headers
        .get(EVENT_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let delivery = headers
        .get(DELIVERY_HEADER)
        .and_then(|v| DeliveryId::parse(v.as_bytes()));
    let body = match read_body(&req, payload).await {
        Ok(body) => body,
        Err(refused) => return refused,
    };
    if let Err(err) = verify(secret, signature.as_deref(), &body) {
        tracing::warn!(error = %err, "a GitHub webhook delivery with a bad signature was refused");
        return refuse(StatusCode::UNAUTHORIZED, &err.to_string());
    }
    let (Some(event_name), Some(delivery)) = (event_name, delivery) else {
        return refuse(
            StatusCode::BAD_REQUEST,
            "X-GitHub-Event and X-GitHub-Delivery are required",
        );
    };
    let event = match parse(&event_name, &body) {
        Ok(event) => event,
        Err(err) => {
            tracing::warn!(delivery = delivery.as_str(), error = %err, "a GitHub webhook delivery was not understood");
            return refuse(
                StatusCode::BAD_REQUEST,
                "the payload does not have the shape GitHub documents for this event",
            );
        }
    };
    let label = event.label();
    let received =
        tokio::time::timeout(DEADLINE, github_webhooks::receive(&state, &delivery, event)).await;
    let status = match received {
        Ok(Ok(Receipt::Processed(changes))) => {
            tracing::info!(delivery = delivery.as_str(), event = %label, changes = changes.len(), "GitHub webhook processed");
            "processed"
        }
        Ok(Ok(Receipt::Duplicate)) => {
            tracing::info!(delivery = delivery.as_str(), event = %label, "GitHub webhook already processed; redelivery ignored");
            "duplicate"
        }
        Ok(Ok(Receipt::Ignored)) => "ignored",
        Ok(Err(err)) => {
            tracing::error!(delivery = delivery.as_str(), event = %label, error = %err, "a GitHub webhook delivery could not be processed");
            return refuse(
                StatusCode::INTERNAL_SERVER_ERROR,
                "the delivery could not be processed; redeliver it",
            );
        }
        Err(_) => {
            tracing::error!(delivery = delivery.as_str(), event = %label, "a GitHub webhook delivery took too long and was abandoned");
            return refuse(
                StatusCode::SERVICE_UNAVAILABLE,
                "the delivery took too long; redeliver it",
            );
        }
    };
    reply(
        StatusCode::OK,
        json!({"status": status, "event": label, "delivery": delivery.as_str()}),
    )
}
