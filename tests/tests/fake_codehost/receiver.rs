//! A stand-in for Tether's webhook endpoint, and what it received.

use serde_json::Value;

/// What a webhook receiver got: lowercase header names, and the exact body.
#[derive(Clone, Debug)]
pub(crate) struct Received {
    pub(crate) headers: std::collections::HashMap<String, String>,
    pub(crate) body: Vec<u8>,
}

impl Received {
    pub(crate) fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .unwrap_or_else(|| panic!("delivery without {name}: {:?}", self.headers))
    }

    pub(crate) fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap()
    }

    /// Whether `X-Hub-Signature-256` is the HMAC-SHA256 of the body with `secret`.
    pub(crate) fn signed_with(&self, secret: &str) -> bool {
        use hmac::{Hmac, Mac};
        let Some(header) = self.headers.get("x-hub-signature-256") else {
            return false;
        };
        let Some(hex) = header.strip_prefix("sha256=") else {
            return false;
        };
        let bytes: Vec<u8> = (0..hex.len())
            .step_by(2)
            .filter_map(|i| u8::from_str_radix(hex.get(i..i + 2)?, 16).ok())
            .collect();
        let mut mac = Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).unwrap();
        mac.update(&self.body);
        mac.verify_slice(&bytes).is_ok()
    }
}

/// A stand-in for Tether's webhook endpoint: records every request and answers 202.
pub(crate) struct Receiver {
    pub(crate) url: String,
    got: std::sync::Arc<std::sync::Mutex<Vec<Received>>>,
    handle: actix_web::dev::ServerHandle,
}

impl Receiver {
    pub(crate) async fn start() -> Receiver {
        use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
        type Log = std::sync::Mutex<Vec<Received>>;
        async fn record(req: HttpRequest, body: web::Bytes, log: web::Data<Log>) -> HttpResponse {
            let headers = req
                .headers()
                .iter()
                .map(|(k, v)| (k.as_str().to_owned(), v.to_str().unwrap().to_owned()))
                .collect();
            log.lock().unwrap().push(Received {
                headers,
                body: body.to_vec(),
            });
            HttpResponse::Accepted().finish()
        }
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let got = std::sync::Arc::new(Log::default());
        let data = web::Data::from(got.clone());
        let server = HttpServer::new(move || {
            App::new()
                .app_data(data.clone())
                .default_service(web::to(record))
        })
        .workers(1)
        .disable_signals()
        .listen(listener)
        .unwrap()
        .run();
        let handle = server.handle();
        tokio::spawn(server);
        Receiver { url, got, handle }
    }

    fn received(&self) -> Vec<Received> {
        self.got.lock().unwrap().clone()
    }

    /// Deliveries of `event` received so far.
    pub(crate) fn of(&self, event: &str) -> Vec<Received> {
        self.received()
            .into_iter()
            .filter(|r| r.headers.get("x-github-event").map(String::as_str) == Some(event))
            .collect()
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        drop(self.handle.stop(false));
    }
}
