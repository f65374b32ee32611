//! Job workers: `concurrency` per provider queue, restarted with a growing delay if they die,
//! and the handler that runs each job.

use super::job::TetherJob;
use super::{Lane, QUEUES, Queues, Storages, pick, queue_name};
use crate::discovery::{Discovery, Outcome};
use apalis::prelude::{
    Attempt, BackendExt, BoxDynError, Data, Event, EventListenerExt, WorkerBuilder,
    WorkerBuilderExt, WorkerContext,
};
use std::time::Duration;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

/// How often idle workers look for work.
const POLL: Duration = Duration::from_millis(200);

impl Queues {
    /// Starts `concurrency` workers per provider queue until `shutdown`; workers that die are
    /// restarted with a growing delay.
    pub fn start_workers(
        &self,
        discovery: Discovery,
        concurrency: usize,
        shutdown: CancellationToken,
    ) {
        let context = JobContext {
            discovery,
            queues: self.clone(),
        };
        let pid = std::process::id();
        for key in QUEUES {
            let name = queue_name(&self.namespace, key);
            let concurrency = match key.1 {
                Lane::Discovery => concurrency,
                Lane::Refresh => concurrency.div_ceil(2),
            };
            let storages = self.storages.clone();
            let context = context.clone();
            let shutdown = shutdown.clone();
            tokio::spawn(async move {
                let mut restarts = 0u32;
                while !shutdown.is_cancelled() {
                    // Names must be unique per process and per restart.
                    let worker = format!("{name}-{pid}-{restarts}-{}", Uuid::new_v4().simple());
                    let stop = shutdown.clone();
                    let signal = async move {
                        stop.cancelled().await;
                        Ok::<(), std::io::Error>(())
                    };
                    // The same worker over either backend (their types differ, the code does not).
                    macro_rules! run {
                        ($storages:expr) => {
                            match pick($storages, key) {
                                Ok(storage) => WorkerBuilder::new(worker)
                                    .backend(storage.clone().poll_with_interval(POLL))
                                    .data(context.clone())
                                    .concurrency(concurrency)
                                    .on_event(log_worker_event)
                                    .build(handle)
                                    .run_until(signal)
                                    .await
                                    .map_err(|e| e.to_string()),
                                Err(e) => Err(e.to_string()),
                            }
                        };
                    }
                    let result = match &storages {
                        Storages::Sqlite(all) => run!(all),
                        Storages::Redis(all) => run!(all),
                    };
                    if let Err(error) = result {
                        restarts += 1;
                        let delay = Duration::from_millis(250 * (1 << restarts.min(8)));
                        tracing::warn!(queue = %name, %error, ?delay, "job worker stopped; restarting");
                        tokio::select! {
                            () = tokio::time::sleep(delay) => {}
                            () = shutdown.cancelled() => {}
                        }
                    }
                }
            });
        }
    }
}

/// Errors a worker meets and survives (fetching, heartbeats) are otherwise silent.
fn log_worker_event(worker: &WorkerContext, event: &Event) {
    if let Event::Error(error) = event {
        tracing::warn!(worker = worker.name(), %error, "job worker error");
    }
}

/// What job handlers share.
#[derive(Clone)]
struct JobContext {
    discovery: Discovery,
    queues: Queues,
}

async fn handle(
    job: TetherJob,
    context: Data<JobContext>,
    attempt: Attempt,
) -> Result<(), BoxDynError> {
    match job {
        TetherJob::DiscoverRepositoriesV1 {
            connection_id,
            trigger,
        } => {
            // A task of its own, so concurrent jobs of one worker use every runtime thread.
            let discovery = context.discovery.clone();
            let outcome =
                tokio::spawn(async move { discovery.run(connection_id, trigger.into()).await })
                    .await
                    .map_err(|e| -> BoxDynError { format!("discovery task failed: {e}").into() })?;
            match outcome {
                Ok(Outcome::Finished(report)) => {
                    // Fresh listings are followed by fresh head commits.
                    if report.outcome != entities::DiscoveryOutcome::Failed
                        && let Some(provider) = report.provider
                        && let Err(err) = context.queues.refresh(provider, connection_id).await
                    {
                        tracing::warn!(connection = %connection_id, error = %err, "could not enqueue a refresh");
                    }
                    Ok(())
                }
                Ok(Outcome::Missing | Outcome::Busy) => Ok(()),
                Err(err) => {
                    tracing::warn!(connection = %connection_id, attempt = attempt.current(), error = %err, "discovery job failed");
                    Err(Box::new(err))
                }
            }
        }
        TetherJob::RefreshMetadataV1 { connection_id, .. } => {
            let discovery = context.discovery.clone();
            tokio::spawn(async move { discovery.refresh(connection_id).await })
                .await
                .map_err(|e| -> BoxDynError { format!("refresh task failed: {e}").into() })?
                .map(|_| ())
                .map_err(|e| -> BoxDynError { Box::new(e) })
        }
    }
}
