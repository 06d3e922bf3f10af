//! The report: a Markdown table of the rows with the ratios of rows 3 and 4 to the bare
//! proxy, the restart and memory figures, and each target with whether this run met it.

use std::fmt::Write;

use crate::{Row, memory::Memory, startup::Startup};

/// Everything one run measured.
#[derive(Clone, Debug, Default)]
pub struct Report {
    /// Rows 1–5, in order.
    pub rows: Vec<Row>,
    /// Concurrency of the throughput runs.
    pub concurrency: usize,
    /// The restart run.
    pub startup: Option<Startup>,
    /// The memory run.
    pub memory: Option<Memory>,
}

/// One target and this run's figure.
#[derive(Clone, Debug)]
pub struct Check {
    /// The target, in words.
    pub target: String,
    /// This run's figure, in words.
    pub figure: String,
    /// Whether it was met.
    pub met: bool,
}

const MIB: f64 = 1024.0 * 1024.0;

impl Report {
    /// The row whose name starts with `prefix` (`"2."`, `"5a."`).
    pub fn row(&self, prefix: &str) -> Option<&Row> {
        self.rows.iter().find(|r| r.name.starts_with(prefix))
    }

    /// (p50 ratio, throughput ratio) of row `prefix` to the bare proxy.
    pub fn ratios(&self, prefix: &str) -> Option<(f64, f64)> {
        let (proxy, row) = (self.row("2.")?, self.row(prefix)?);
        Some((
            row.latency.p50.as_secs_f64() / proxy.latency.p50.as_secs_f64(),
            row.throughput / proxy.throughput,
        ))
    }

    /// Every target this run has figures for.
    pub fn checks(&self) -> Vec<Check> {
        let mut checks = Vec::new();
        for (prefix, what, p50_max, share_min) in [
            ("3.", "invoke", 1.3, 0.70),
            ("4.", "invoke with both transforms", 1.6, 0.50),
        ] {
            if let Some((p50, share)) = self.ratios(prefix) {
                checks.push(Check {
                    target: format!("{what}: p50 ≤ {p50_max}× the bare proxy"),
                    figure: format!("{p50:.2}×"),
                    met: p50 <= p50_max,
                });
                checks.push(Check {
                    target: format!(
                        "{what}: throughput ≥ {:.0}% of the bare proxy",
                        share_min * 100.0
                    ),
                    figure: format!("{:.0}%", share * 100.0),
                    met: share >= share_min,
                });
            }
        }
        for prefix in ["5a.", "5b."] {
            if let Some(row) = self.row(prefix) {
                let us = row.latency.p50.as_secs_f64() * 1e6;
                checks.push(Check {
                    target: format!("{}: p50 ≤ 30 µs", &row.name[prefix.len()..].trim()),
                    figure: format!("{us:.1} µs"),
                    met: us <= 30.0,
                });
            }
        }
        if let Some(s) = &self.startup {
            checks.push(Check {
                target: format!(
                    "restart with {} components, all ready ≤ 2 s, no recompilation",
                    s.components
                ),
                figure: format!(
                    "{:.2} s to all {} ready ({} failed), {} compiled, {} from cache",
                    s.ready_ms / 1000.0,
                    s.ready,
                    s.failed,
                    s.compilations,
                    s.cache_loads
                ),
                met: s.ready_ms <= 2000.0
                    && s.compilations == 0
                    && s.ready == s.components
                    && s.failed == 0,
            });
        }
        if let Some(m) = &self.memory {
            checks.push(Check {
                target: format!(
                    "{} tools across {} tenants ≤ 200 MiB RSS",
                    m.tools, m.tenants
                ),
                figure: format!("{:.1} MiB", m.rss_bytes as f64 / MIB),
                met: m.rss_bytes as f64 <= 200.0 * MIB,
            });
        }
        checks
    }

    /// The whole report as Markdown.
    pub fn render(&self) -> String {
        let mut out = String::new();
        if !self.rows.is_empty() {
            let _ = writeln!(
                out,
                "| scenario | p50 (c=1) | p99 (c=1) | throughput (c={}) | server CPU / request | load + stub CPU / request | p50 / proxy | throughput / proxy |",
                self.concurrency
            );
            let _ = writeln!(out, "|---|---:|---:|---:|---:|---:|---:|---:|");
            for row in &self.rows {
                let prefix = row.name.split(' ').next().unwrap_or_default();
                let (p50_ratio, share) = match self.ratios(prefix) {
                    Some((p, s)) if prefix == "3." || prefix == "4." => {
                        (format!("{p:.2}×"), format!("{:.0}%", s * 100.0))
                    }
                    _ => (String::new(), String::new()),
                };
                let _ = writeln!(
                    out,
                    "| {} | {} | {} | {:.0}/s | {} | {} | {p50_ratio} | {share} |",
                    row.name,
                    micros(row.latency.p50),
                    micros(row.latency.p99),
                    row.throughput,
                    row.server_cpu.map(micros).unwrap_or_default(),
                    row.others_cpu.map(micros).unwrap_or_default(),
                );
            }
            out.push('\n');
        }
        if let Some(s) = &self.startup {
            let _ = writeln!(
                out,
                "Restart with {} components ({} uploaded through the API at {:.0} ms each, the rest \
                 registered with copies of that compiled artifact): listening after {:.0} ms, all \
                 ready after {:.0} ms; {} compiled, {} loaded from the cache, {} failed; RSS {:.1} MiB.\n",
                s.components,
                s.uploaded,
                s.upload_ms,
                s.listen_ms,
                s.ready_ms,
                s.compilations,
                s.cache_loads,
                s.failed,
                s.rss_bytes as f64 / MIB
            );
        }
        if let Some(m) = &self.memory {
            let _ = writeln!(
                out,
                "Memory: {} tools across {} tenants created through the API in {:.1} s, one \
                 invocation per tenant; RSS {:.1} MiB (idle before: {:.1} MiB).\n",
                m.tools,
                m.tenants,
                m.create_secs,
                m.rss_bytes as f64 / MIB,
                m.idle_rss_bytes as f64 / MIB
            );
        }
        let checks = self.checks();
        if !checks.is_empty() {
            let _ = writeln!(out, "| target | this run | met |");
            let _ = writeln!(out, "|---|---|---|");
            for c in &checks {
                let _ = writeln!(
                    out,
                    "| {} | {} | {} |",
                    c.target,
                    c.figure,
                    if c.met { "yes" } else { "**no**" }
                );
            }
        }
        out
    }
}

fn micros(d: std::time::Duration) -> String {
    format!("{:.1} µs", d.as_secs_f64() * 1e6)
}
