//! The call log, written off the hot path.
//!
//! An invocation hands its record to [`CallLog::record`], which never waits: the record goes
//! into a bounded queue (or, when the queue is full, is dropped and counted — a stalled disk
//! must not turn into dead air on a phone call). One writer task drains the queue in batches,
//! one transaction per batch, and trims the log to the configured [`Retention`] as it goes.
//! A batch waits up to [`LINGER`] for company after its first record, so a steady trickle
//! of calls costs one transaction per few milliseconds, not one per call; the writer sleeps
//! through that wait instead of waking for every record that joins the batch.
//!
//! Reads see their own writes: `GET /v1/calls` first [`CallLog::flush`]es, so a call that has
//! returned is listed. On graceful shutdown [`CallLog::close`] writes whatever is queued.
//!
//! [`redact`] turns what happened on a call into the record that is stored, without secrets.

pub mod redact;

use std::{
    sync::{
        Arc, Mutex,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

use tokio::{
    sync::{Notify, mpsc, oneshot},
    task::JoinHandle,
};

use crate::store::{CallRecord, Retention, Store};

/// Records queued beyond this are dropped (and counted) rather than waited for.
pub const QUEUE_CAPACITY: usize = 8192;
/// Most records written in one transaction.
const BATCH: usize = 512;
/// How long a batch waits after its first record for more (a flush does not wait).
pub const LINGER: Duration = Duration::from_millis(10);
/// How often retention by age runs when no calls arrive.
const AGE_SWEEP: Duration = Duration::from_secs(60);

enum Message {
    Record(Box<CallRecord>),
    /// Answered once everything queued before it is written.
    Flush(oneshot::Sender<()>),
}

/// The handle invocations and handlers use; cheap to clone.
#[derive(Clone)]
pub struct CallLog {
    queue: mpsc::Sender<Message>,
    /// Cuts a lingering batch short when a reader is waiting for it.
    flushing: Arc<Notify>,
    dropped: Arc<AtomicU64>,
    writer: Arc<Mutex<Option<JoinHandle<()>>>>,
}

impl CallLog {
    /// Starts the writer task on the current Tokio runtime.
    pub fn start(store: Arc<dyn Store>, retention: Retention) -> Self {
        Self::with_capacity(store, retention, QUEUE_CAPACITY)
    }

    /// [`CallLog::start`] with a queue of `capacity` records.
    pub fn with_capacity(store: Arc<dyn Store>, retention: Retention, capacity: usize) -> Self {
        let (queue, inbox) = mpsc::channel(capacity.max(1));
        let flushing = Arc::new(Notify::new());
        let writer = tokio::spawn(write_loop(store, retention, inbox, flushing.clone()));
        Self {
            queue,
            flushing,
            dropped: Arc::new(AtomicU64::new(0)),
            writer: Arc::new(Mutex::new(Some(writer))),
        }
    }

    /// Queues `record` for writing; never waits. When the queue is full the record is
    /// dropped, counted and reported in the service log.
    pub fn record(&self, record: CallRecord) {
        if let Err(e) = self.queue.try_send(Message::Record(Box::new(record))) {
            let dropped = self.dropped.fetch_add(1, Ordering::Relaxed) + 1;
            let call_id = match &e {
                mpsc::error::TrySendError::Full(Message::Record(r))
                | mpsc::error::TrySendError::Closed(Message::Record(r)) => r.call_id.as_str(),
                _ => "",
            };
            tracing::warn!(%call_id, dropped_total = dropped, "call log queue full or closed: record dropped");
        }
    }

    /// Records dropped because the queue was full, since start-up.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    /// Waits until every record queued before this call has been written (or has failed).
    pub async fn flush(&self) {
        let (done, written) = oneshot::channel();
        if self.queue.send(Message::Flush(done)).await.is_ok() {
            // If the writer is not lingering, the permit stays and merely ends its next
            // linger early: one smaller batch, never a lost wake-up.
            self.flushing.notify_one();
            let _ = written.await;
        }
    }

    /// Writes what is queued and stops the writer. Called once the server has stopped
    /// taking requests; later records are dropped and counted.
    pub async fn close(&self) {
        self.flush().await;
        let writer = self.writer.lock().ok().and_then(|mut w| w.take());
        if let Some(writer) = writer {
            writer.abort();
            let _ = writer.await;
        }
    }
}

async fn write_loop(
    store: Arc<dyn Store>,
    retention: Retention,
    mut inbox: mpsc::Receiver<Message>,
    flushing: Arc<Notify>,
) {
    let mut sweep = tokio::time::interval(AGE_SWEEP);
    sweep.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut batch = Vec::with_capacity(BATCH);
    let mut waiting = Vec::new();
    loop {
        let first = tokio::select! {
            message = inbox.recv() => match message {
                Some(message) => message,
                None => return,
            },
            _ = sweep.tick() => {
                if retention.max_age_ms.is_some() {
                    write(&*store, Vec::new(), retention).await;
                }
                continue;
            }
        };
        let linger = tokio::time::sleep(LINGER);
        tokio::pin!(linger);
        let mut lingered = false;
        let mut next = Some(first);
        while let Some(message) = next.take() {
            match message {
                Message::Record(record) => batch.push(*record),
                Message::Flush(done) => waiting.push(done),
            }
            if batch.len() >= BATCH {
                break;
            }
            next = match inbox.try_recv() {
                Ok(message) => Some(message),
                // Nothing queued: once per batch, sleep until the linger ends (or a reader
                // asks for what is here), then take whatever came meanwhile. Records that
                // arrive while the writer sleeps do not wake it.
                Err(_) if waiting.is_empty() && !lingered => {
                    lingered = true;
                    tokio::select! {
                        _ = &mut linger => {}
                        _ = flushing.notified() => {}
                    }
                    inbox.try_recv().ok()
                }
                Err(_) => None,
            };
        }
        if !batch.is_empty() {
            write(&*store, std::mem::take(&mut batch), retention).await;
        }
        for done in waiting.drain(..) {
            let _ = done.send(());
        }
    }
}

async fn write(store: &dyn Store, records: Vec<CallRecord>, retention: Retention) {
    let count = records.len();
    if let Err(e) = store
        .record_calls(records, retention, crate::clock::now_unix_ms())
        .await
    {
        tracing::error!(error = ?e, records = count, "could not write call records");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{
        ids::{TenantId, ToolId},
        store::{CallFilter, sqlite::SqliteStore},
        tenant::{ApiKey, Plan, Scope, Tenant},
        tool::model::Agent,
    };

    fn record(tenant: &TenantId, n: usize) -> CallRecord {
        CallRecord {
            call_id: format!("c{n}"),
            created_at: crate::clock::now_rfc3339(),
            agent: Agent::Receptionist,
            tool_id: ToolId("tool_x".into()),
            tool: "x".into(),
            conversation_id: None,
            test: false,
            ok: true,
            status: Some(200),
            error_kind: None,
            detail: serde_json::value::to_raw_value(&serde_json::json!({})).unwrap(),
            tenant_id: tenant.clone(),
            created_ms: crate::clock::now_unix_ms(),
            seq: 0,
        }
    }

    async fn ids(store: &SqliteStore, tenant: &Tenant) -> Vec<String> {
        let filter = CallFilter {
            limit: 100,
            ..CallFilter::default()
        };
        let calls = store.calls(&tenant.id, &filter).await.unwrap();
        calls.into_iter().map(|c| c.call_id).collect()
    }

    async fn tenant(store: &SqliteStore, name: &str) -> Tenant {
        let tenant = Tenant {
            id: TenantId(format!("ten_{name}")),
            name: name.into(),
            plan: Plan::Plus,
            created_at: crate::clock::now_rfc3339(),
        };
        let key = crate::store::NewKey {
            key: ApiKey {
                id: crate::ids::KeyId(format!("key_{name}")),
                tenant_id: tenant.id.clone(),
                scope: Scope::Manage,
                hint: "sbk_…".into(),
                created_at: tenant.created_at.clone(),
            },
            hash: format!("hash_{name}"),
        };
        store.create_tenant(&tenant, &key).await.unwrap();
        tenant
    }

    /// Trimming to `max_per_tenant` keeps each tenant's count in memory; the count must stay
    /// exact across batches, a restart (rows already on disk) and expiry by age, or the log
    /// keeps too many calls or loses ones it should keep.
    #[tokio::test]
    async fn retention_stays_exact_across_batches_restarts_and_expiry() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log.db");
        let store = SqliteStore::open(&path).unwrap();
        let (a, b) = (tenant(&store, "a").await, tenant(&store, "b").await);
        let named = |tenant: &Tenant, id: &str, created_ms: i64| CallRecord {
            call_id: id.into(),
            created_ms,
            ..record(&tenant.id, 0)
        };
        let now = crate::clock::now_unix_ms();
        let keep = |n| Retention {
            max_per_tenant: Some(n),
            max_age_ms: None,
        };
        let batch = |tenant: &Tenant, from: usize, to: usize| {
            (from..to)
                .map(|n| named(tenant, &format!("{}{n}", tenant.name), now))
                .collect::<Vec<_>>()
        };

        store
            .record_calls(batch(&a, 0, 3), keep(5), now)
            .await
            .unwrap();
        let mut mixed = batch(&a, 3, 7);
        mixed.extend(batch(&b, 0, 2));
        store.record_calls(mixed, keep(5), now).await.unwrap();
        assert_eq!(ids(&store, &a).await, ["a6", "a5", "a4", "a3", "a2"]);
        assert_eq!(ids(&store, &b).await, ["b1", "b0"]);

        // A restart forgets the counts: the first batch counts what is on disk.
        drop(store);
        let store = SqliteStore::open(&path).unwrap();
        store
            .record_calls(batch(&a, 7, 8), keep(3), now)
            .await
            .unwrap();
        assert_eq!(ids(&store, &a).await, ["a7", "a6", "a5"]);
        assert_eq!(
            ids(&store, &b).await,
            ["b1", "b0"],
            "b had no calls in that batch"
        );

        // Calls that expire by age come off the count.
        store
            .record_calls(batch(&b, 2, 3), keep(3), now)
            .await
            .unwrap();
        let old = vec![named(&b, "b-old", 0)];
        store.record_calls(old, keep(3), now).await.unwrap();
        assert_eq!(ids(&store, &b).await, ["b-old", "b2", "b1"]);
        let both = Retention {
            max_per_tenant: Some(3),
            max_age_ms: Some(3_600_000),
        };
        store
            .record_calls(batch(&b, 3, 4), both, now)
            .await
            .unwrap();
        assert_eq!(ids(&store, &b).await, ["b3", "b2", "b1"]);
        assert_eq!(ids(&store, &a).await, ["a7", "a6", "a5"]);
    }

    /// A full queue drops and counts instead of waiting; every record is either written or
    /// counted as dropped, none is lost silently.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_full_queue_drops_and_counts_and_never_waits() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log.db");
        let store = Arc::new(SqliteStore::open(&path).unwrap());
        let tenant = tenant(&store, "a").await;
        let log = CallLog::with_capacity(store.clone(), Retention::default(), 2);

        // Hold the write lock so the writer blocks on its first batch, once that batch has
        // stopped lingering for company.
        let outside = rusqlite::Connection::open(&path).unwrap();
        outside.execute_batch("BEGIN IMMEDIATE").unwrap();
        log.record(record(&tenant.id, 0));
        tokio::time::sleep(LINGER * 5).await;
        for n in 1..50 {
            log.record(record(&tenant.id, n)); // returns at once, full queue or not
        }
        let dropped = log.dropped();
        assert!(dropped > 0, "a queue of 2 cannot hold 50 records");
        outside.execute_batch("COMMIT").unwrap();
        log.flush().await;

        let filter = CallFilter {
            limit: 100,
            ..CallFilter::default()
        };
        let written = store.calls(&tenant.id, &filter).await.unwrap().len() as u64;
        assert_eq!(written + log.dropped(), 50);
        log.close().await;
        log.record(record(&tenant.id, 99));
        assert_eq!(
            log.dropped(),
            dropped + 1,
            "records after close are counted"
        );
    }
}
