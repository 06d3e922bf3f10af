//! The two ways every row is driven: latency at concurrency 1 (sequential requests after a
//! warm-up, each timed) and throughput at concurrency N (N workers looping for a fixed time,
//! completions counted). Any failed request aborts the row: a fast error is not a result.

use std::{
    future::Future,
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

/// Latency percentiles of one row.
#[derive(Clone, Copy, Debug)]
pub struct Latency {
    /// Median.
    pub p50: Duration,
    /// 99th percentile.
    pub p99: Duration,
    /// Requests timed.
    pub samples: usize,
}

impl Latency {
    /// The percentiles of `samples` (at least one).
    pub fn of(mut samples: Vec<Duration>) -> Latency {
        samples.sort_unstable();
        let at = |q: f64| {
            let i = ((samples.len() as f64 * q).ceil() as usize).clamp(1, samples.len()) - 1;
            samples[i]
        };
        Latency {
            p50: at(0.50),
            p99: at(0.99),
            samples: samples.len(),
        }
    }
}

/// Runs `warmup` untimed then `n` timed calls of `op`, one at a time.
pub async fn latency<F, Fut>(warmup: usize, n: usize, op: F) -> anyhow::Result<Latency>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = anyhow::Result<()>>,
{
    anyhow::ensure!(n > 0, "at least one timed request");
    Ok(Latency::of(latency_samples(warmup, n, op).await?))
}

/// [`latency`]'s timings, one per call, unsorted.
pub async fn latency_samples<F, Fut>(
    warmup: usize,
    n: usize,
    mut op: F,
) -> anyhow::Result<Vec<Duration>>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = anyhow::Result<()>>,
{
    for _ in 0..warmup {
        op().await?;
    }
    let mut samples = Vec::with_capacity(n);
    for _ in 0..n {
        let started = Instant::now();
        op().await?;
        samples.push(started.elapsed());
    }
    Ok(samples)
}

/// Completions per second with `concurrency` workers calling `op` in a loop for `duration`
/// (after each worker's first call, which warms its connection).
pub async fn throughput<F, Fut>(
    concurrency: usize,
    duration: Duration,
    op: F,
) -> anyhow::Result<f64>
where
    F: Fn() -> Fut + Send + Sync + 'static,
    Fut: Future<Output = anyhow::Result<()>> + Send + 'static,
{
    let (done, elapsed) = completions(concurrency, duration, op).await?;
    Ok(done as f64 / elapsed.as_secs_f64())
}

/// [`throughput`]'s count: completions, and the time they took.
pub async fn completions<F, Fut>(
    concurrency: usize,
    duration: Duration,
    op: F,
) -> anyhow::Result<(u64, Duration)>
where
    F: Fn() -> Fut + Send + Sync + 'static,
    Fut: Future<Output = anyhow::Result<()>> + Send + 'static,
{
    let op = Arc::new(op);
    // Every worker opens its connection before the clock starts.
    let warm: Vec<_> = (0..concurrency)
        .map(|_| {
            let op = op.clone();
            tokio::spawn(async move { op().await })
        })
        .collect();
    for w in warm {
        w.await??;
    }
    let done = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let deadline = started + duration;
    let workers: Vec<_> = (0..concurrency)
        .map(|_| {
            let (op, done) = (op.clone(), done.clone());
            tokio::spawn(async move {
                while Instant::now() < deadline {
                    op().await?;
                    done.fetch_add(1, Ordering::Relaxed);
                }
                anyhow::Ok(())
            })
        })
        .collect();
    for w in workers {
        w.await??;
    }
    Ok((done.load(Ordering::Relaxed), started.elapsed()))
}

/// User plus system CPU time of this process's threads named `name` (Linux; `None`
/// elsewhere). A thread that exited in between takes its time with it, so callers compare
/// two readings across a phase in which the server's threads stay up.
pub fn thread_cpu(name: &str) -> Option<Duration> {
    // USER_HZ: the unit of /proc's utime and stime, 100 on every Linux.
    const TICKS_PER_SECOND: u64 = 100;
    let mut ticks = 0;
    for entry in std::fs::read_dir("/proc/self/task").ok()? {
        let Ok(stat) = std::fs::read_to_string(entry.ok()?.path().join("stat")) else {
            continue;
        };
        // `pid (comm) state ...`: the name may hold spaces, so split around the parentheses.
        let (Some(open), Some(close)) = (stat.find('('), stat.rfind(')')) else {
            continue;
        };
        if &stat[open + 1..close] != name {
            continue;
        }
        let fields: Vec<&str> = stat[close + 1..].split_whitespace().collect();
        // After the name: state is field 3, utime 14 and stime 15 (proc(5)).
        let time = |i: usize| fields.get(i).and_then(|f| f.parse::<u64>().ok());
        ticks += time(11)? + time(12)?;
    }
    Some(Duration::from_millis(ticks * 1000 / TICKS_PER_SECOND))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thread_cpu_counts_the_named_threads_only() {
        assert_eq!(thread_cpu("no-such-thread"), Some(Duration::ZERO));
        let (started_tx, started_rx) = std::sync::mpsc::channel();
        let (stop_tx, stop_rx) = std::sync::mpsc::channel::<()>();
        let spinner = std::thread::Builder::new()
            .name("cpu-probe".into())
            .spawn(move || {
                let until = Instant::now() + Duration::from_millis(300);
                while Instant::now() < until {
                    std::hint::spin_loop();
                }
                started_tx.send(()).unwrap();
                stop_rx.recv().unwrap();
            })
            .unwrap();
        started_rx.recv().unwrap();
        let spent = thread_cpu("cpu-probe").unwrap();
        stop_tx.send(()).unwrap();
        spinner.join().unwrap();
        assert!(spent > Duration::ZERO, "300 ms of spinning shows up");
        assert!(spent <= Duration::from_secs(2), "{spent:?}");
    }

    #[test]
    fn percentiles_pick_the_right_samples() {
        let samples = (1..=100).map(Duration::from_micros).collect();
        let l = Latency::of(samples);
        assert_eq!(l.p50, Duration::from_micros(50));
        assert_eq!(l.p99, Duration::from_micros(99));
        let one = Latency::of(vec![Duration::from_micros(7)]);
        assert_eq!(
            (one.p50, one.p99),
            (Duration::from_micros(7), Duration::from_micros(7))
        );
    }
}
