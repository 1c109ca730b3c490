//! Prometheus text exposition, written by hand: a few counters and
//! histograms do not need a metrics library.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;
use std::time::Duration;

use crate::engine::Registry;

const BUCKETS: [f64; 14] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

#[derive(Default)]
struct Histogram {
    counts: [u64; BUCKETS.len()],
    count: u64,
    sum: f64,
}

#[derive(Default)]
pub struct Metrics {
    /// (model, protocol, status) -> count
    requests: Mutex<BTreeMap<(String, &'static str, u16), u64>>,
    latency: Mutex<BTreeMap<String, Histogram>>,
}

fn escape(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

impl Metrics {
    /// Counts one answered inference request; `status` is the HTTP status
    /// (gRPC codes are counted under their HTTP equivalent).
    pub fn record(&self, model: &str, protocol: &'static str, status: u16, took: Duration) {
        let mut r = self.requests.lock().unwrap_or_else(|e| e.into_inner());
        *r.entry((model.to_string(), protocol, status)).or_default() += 1;
        drop(r);
        if status == 200 {
            let secs = took.as_secs_f64();
            let mut l = self.latency.lock().unwrap_or_else(|e| e.into_inner());
            let h = l.entry(model.to_string()).or_default();
            for (i, b) in BUCKETS.iter().enumerate() {
                if secs <= *b {
                    h.counts[i] += 1;
                }
            }
            h.count += 1;
            h.sum += secs;
        }
    }

    pub fn render(&self, registry: &Registry) -> String {
        let mut out = String::new();
        out.push_str("# HELP ferrite_requests_total Inference requests answered, by model, protocol and HTTP status.\n");
        out.push_str("# TYPE ferrite_requests_total counter\n");
        for ((m, p, s), n) in self
            .requests
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
        {
            let _ = writeln!(
                out,
                "ferrite_requests_total{{model=\"{}\",protocol=\"{p}\",status=\"{s}\"}} {n}",
                escape(m)
            );
        }
        out.push_str("# HELP ferrite_request_duration_seconds Latency of successful inference requests, queueing included.\n");
        out.push_str("# TYPE ferrite_request_duration_seconds histogram\n");
        for (m, h) in self
            .latency
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
        {
            let m = escape(m);
            for (i, b) in BUCKETS.iter().enumerate() {
                let _ = writeln!(
                    out,
                    "ferrite_request_duration_seconds_bucket{{model=\"{m}\",le=\"{b}\"}} {}",
                    h.counts[i]
                );
            }
            let _ = writeln!(
                out,
                "ferrite_request_duration_seconds_bucket{{model=\"{m}\",le=\"+Inf\"}} {}",
                h.count
            );
            let _ = writeln!(
                out,
                "ferrite_request_duration_seconds_sum{{model=\"{m}\"}} {}",
                h.sum
            );
            let _ = writeln!(
                out,
                "ferrite_request_duration_seconds_count{{model=\"{m}\"}} {}",
                h.count
            );
        }
        out.push_str("# HELP ferrite_queue_depth Requests admitted and not yet answered.\n");
        out.push_str("# TYPE ferrite_queue_depth gauge\n");
        for s in registry.ready() {
            let _ = writeln!(
                out,
                "ferrite_queue_depth{{model=\"{}\",version=\"{}\"}} {}",
                escape(&s.name),
                s.version,
                s.queue_depth()
            );
        }
        out.push_str("# HELP ferrite_live_sequences Sequences holding an interpreter.\n");
        out.push_str("# TYPE ferrite_live_sequences gauge\n");
        for s in registry.ready() {
            let _ = writeln!(
                out,
                "ferrite_live_sequences{{model=\"{}\",version=\"{}\"}} {}",
                escape(&s.name),
                s.version,
                s.live_sequences()
            );
        }
        out.push_str("# HELP ferrite_model_ready Whether a model version is ready (1) or failed to load (0).\n");
        out.push_str("# TYPE ferrite_model_ready gauge\n");
        for m in registry.models.values() {
            for (v, st) in &m.versions {
                let ready = matches!(st, crate::engine::VersionState::Ready(_)) as u8;
                let _ = writeln!(
                    out,
                    "ferrite_model_ready{{model=\"{}\",version=\"{v}\"}} {ready}",
                    escape(&m.name)
                );
            }
        }
        out
    }
}
