//! Prometheus metrics in the text exposition format, kept in atomics (no registry crate).

use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};

/// A monotonically increasing counter.
#[derive(Debug, Default)]
pub struct Counter(AtomicU64);

impl Counter {
    /// Adds one.
    pub fn inc(&self) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }
    /// Current value.
    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// Upper bounds of the request-duration histogram, in seconds.
const BUCKETS: [f64; 10] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0, 5.0];

/// Request duration histogram.
#[derive(Debug, Default)]
pub struct Histogram {
    buckets: [AtomicU64; 10],
    count: AtomicU64,
    sum_us: AtomicU64,
}

impl Histogram {
    /// Records one observation.
    pub fn observe(&self, secs: f64) {
        for (i, b) in BUCKETS.iter().enumerate() {
            if secs <= *b {
                self.buckets[i].fetch_add(1, Ordering::Relaxed);
            }
        }
        self.count.fetch_add(1, Ordering::Relaxed);
        self.sum_us.fetch_add((secs * 1e6) as u64, Ordering::Relaxed);
    }
}

/// Every metric the platform exports.
#[derive(Debug, Default)]
pub struct Metrics {
    /// Requests answered 2xx/3xx.
    pub http_ok: Counter,
    /// Requests answered 4xx.
    pub http_client_errors: Counter,
    /// Requests answered 5xx.
    pub http_server_errors: Counter,
    /// Request latency.
    pub http_duration: Histogram,
    /// Jobs finished.
    pub jobs_done: Counter,
    /// Jobs that failed and were rescheduled.
    pub jobs_retried: Counter,
    /// Jobs dead-lettered.
    pub jobs_dead: Counter,
    /// Passwords checked with argon2 (logins and password changes, refusals included).
    pub password_checks: Counter,
    /// Failed logins.
    pub login_failures: Counter,
    /// Reports the classifier failed on (filed all the same, for staff to classify).
    pub triage_failures: Counter,
}

impl Metrics {
    /// Renders the text exposition format; `gauges` are extra point-in-time values.
    pub fn render(&self, gauges: &[(&str, &str, i64)]) -> String {
        let mut out = String::new();
        let counter = |out: &mut String, name: &str, help: &str, v: u64| {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} counter\n{name} {v}");
        };
        let _ = writeln!(out, "# HELP linli_http_requests_total HTTP requests by status class.\n# TYPE linli_http_requests_total counter");
        let _ = writeln!(out, "linli_http_requests_total{{class=\"ok\"}} {}", self.http_ok.get());
        let _ = writeln!(out, "linli_http_requests_total{{class=\"client_error\"}} {}", self.http_client_errors.get());
        let _ = writeln!(out, "linli_http_requests_total{{class=\"server_error\"}} {}", self.http_server_errors.get());
        let _ = writeln!(out, "# HELP linli_http_request_duration_seconds Request latency.\n# TYPE linli_http_request_duration_seconds histogram");
        for (i, b) in BUCKETS.iter().enumerate() {
            let _ = writeln!(
                out,
                "linli_http_request_duration_seconds_bucket{{le=\"{b}\"}} {}",
                self.http_duration.buckets[i].load(Ordering::Relaxed)
            );
        }
        let count = self.http_duration.count.load(Ordering::Relaxed);
        let _ = writeln!(out, "linli_http_request_duration_seconds_bucket{{le=\"+Inf\"}} {count}");
        let _ = writeln!(out, "linli_http_request_duration_seconds_sum {}", self.http_duration.sum_us.load(Ordering::Relaxed) as f64 / 1e6);
        let _ = writeln!(out, "linli_http_request_duration_seconds_count {count}");
        counter(&mut out, "linli_jobs_done_total", "Background jobs completed.", self.jobs_done.get());
        counter(&mut out, "linli_jobs_retried_total", "Background job attempts that failed and were rescheduled.", self.jobs_retried.get());
        counter(&mut out, "linli_jobs_dead_total", "Background jobs dead-lettered.", self.jobs_dead.get());
        counter(&mut out, "linli_password_checks_total", "Passwords checked with argon2.", self.password_checks.get());
        counter(&mut out, "linli_login_failures_total", "Failed login attempts.", self.login_failures.get());
        counter(&mut out, "linli_triage_failures_total", "Reports the classifier failed on, filed for staff to classify.", self.triage_failures.get());
        for (name, help, v) in gauges {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} gauge\n{name} {v}");
        }
        out
    }
}
