//! Each app's own log lines, for "never logged" assertions.
//!
//! The process has one global subscriber and the tests run concurrently, so each line is filed
//! under the app that logged it. Every app runs inside an actix `System` of its own, over a
//! multi-threaded Tokio runtime of its own as in production (see `helpers::start`): the
//! runtime's threads (job workers, scheduler, blocking pool) are marked with the app when they
//! start, and its HTTP workers are that System's arbiters. The writer files each line under the
//! app of the thread that writes it. Lines from anywhere else (code a test calls on its own
//! threads, the fake code hosts) belong to no app and are dropped.

use crate::helpers::{Backend, spawn_app};
use crate::on_both_backends;
use actix_web::rt::System;
use std::cell::RefCell;
use std::collections::HashMap;
use std::io::Write;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};

/// The lines one app logged, one JSON object a line.
#[derive(Clone, Default)]
pub struct AppLogs(Arc<Mutex<Vec<u8>>>);

impl AppLogs {
    /// Everything the app logged so far.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&lock(&self.0)).into_owned()
    }
}

/// Whose lines are whose: System id → that app's lines.
fn apps() -> MutexGuard<'static, HashMap<usize, AppLogs>> {
    static APPS: OnceLock<Mutex<HashMap<usize, AppLogs>>> = OnceLock::new();
    lock(APPS.get_or_init(Default::default))
}

/// A test that failed while holding a lock must not hide its lines from the next assertion.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Files what threads of `system` log under `logs`, until `forget`.
pub fn register(system: &System, logs: AppLogs) {
    apps().insert(system.id(), logs);
}

thread_local! {
    /// The app whose runtime started this thread, if any.
    static OWNER: RefCell<Option<AppLogs>> = const { RefCell::new(None) };
}

/// Files what the current thread logs under `logs` (called as an app's runtime starts a thread).
pub fn mark_thread(logs: AppLogs) {
    OWNER.with(|owner| *owner.borrow_mut() = Some(logs));
}

/// Stops filing lines for `system` (its app has stopped).
pub fn forget(system: &System) {
    apps().remove(&system.id());
}

/// Installs the global subscriber once: Tether's own JSON lines, filed per app.
pub fn init() {
    static INIT: OnceLock<()> = OnceLock::new();
    INIT.get_or_init(|| {
        let settings = api::config::LogSettings {
            json: true,
            // The fake providers (wiremock) are the other side of the wire: their logs are not ours.
            filter: "debug,wiremock=off,hyper=info,hyper_util=info,sqlx=info,h2=info,rustls=info,actix_server=info".into(),
        };
        api::telemetry::init(&settings, || {
            // Called on the thread that logs, once per line.
            let owner = OWNER.with(|owner| owner.borrow().clone()).or_else(|| {
                System::try_current().and_then(|system| apps().get(&system.id()).cloned())
            });
            Sink(owner)
        });
    });
}

/// Where one line goes: its app's lines, or nowhere.
struct Sink(Option<AppLogs>);

impl Write for Sink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if let Some(AppLogs(lines)) = &self.0 {
            lock(lines).extend_from_slice(buf);
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

async fn an_app_s_logs_hold_its_own_lines_and_no_other_app_s(backend: Backend) {
    let (mine, other) = (spawn_app(backend).await, spawn_app(backend).await);
    // The request span logs the path: a unique one marks the lines of this request.
    let marker = format!("/marker-{}", uuid::Uuid::new_v4().simple());
    let response = mine
        .client
        .get(format!("{}{marker}", mine.address))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 404);
    // Logged before the response left: nothing to wait for.
    assert!(
        mine.logs()
            .lines()
            .any(|l| l.contains(&marker) && l.contains("request finished")),
        "the request's lines were not filed under its app"
    );
    assert!(
        !other.logs().contains(&marker),
        "another app's line leaked in"
    );
    for app in [&mine, &other] {
        assert!(app.logs().contains("Tether API listening"), "startup lines");
        assert!(app.logs().contains("job workers and scheduler started"));
    }
}

on_both_backends!(an_app_s_logs_hold_its_own_lines_and_no_other_app_s);
