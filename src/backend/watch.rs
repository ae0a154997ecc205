//! The watch on endpoints and metrics (the monitor task, alerts written to the audit log) and Prometheus
//! history.

use std::sync::Arc;

use super::{Backend, Event};
use crate::serving::monitor::{MonitorConfig, MonitorEvent};

impl Backend {
    /// Replaces the running watch. Alerts are also written to the audit log.
    pub(super) fn start_monitor(&mut self, cfg: MonitorConfig) {
        if let Some(h) = self.monitor.take() {
            h.abort();
        }
        if cfg.endpoints.is_empty() && cfg.prometheus.is_none() && cfg.scrape.is_empty() && cfg.replay.is_none() {
            return;
        }
        let (out, repaint, audit) = (self.out.clone(), self.repaint.clone(), self.audit());
        let visible = self.live_visible.clone();
        let last_health = std::sync::Mutex::new(Vec::new());
        self.monitor = Some(tokio::spawn(crate::serving::monitor::run(cfg, move |ev| {
            // Wake the window only for what it shows: live points when the Endpoints view is on screen;
            // endpoint health when it changed (the status bar), alerts always (banner, notification).
            let wake = match &ev {
                MonitorEvent::Alert(_) => true,
                MonitorEvent::Endpoints(states) => {
                    let health: Vec<_> = states.iter().map(|s| (s.endpoint.clone(), s.health)).collect();
                    let changed = last_health.lock().map(|mut h| *h != health && { *h = health; true }).unwrap_or(true);
                    changed || visible.load(std::sync::atomic::Ordering::Relaxed)
                }
                _ => visible.load(std::sync::atomic::Ordering::Relaxed),
            };
            if let MonitorEvent::Alert(tr) = &ev {
                let (audit, tr) = (audit.clone(), tr.clone());
                tokio::task::spawn_blocking(move || {
                    let _ = crate::serving::monitor::record_alert(&audit, &crate::audit::os_user(), &tr);
                });
            }
            let ok = out.send(Event::Monitor(ev)).is_ok();
            if ok && wake {
                repaint();
            }
            ok
        })));
    }

    pub(super) fn metrics_history(&self, prometheus: String, range: f64, end: Option<f64>) {
        let (out, repaint, timeout) = (self.out.clone(), self.repaint.clone(), self.timeout);
        tokio::spawn(async move {
            let result = crate::serving::monitor::history(&prometheus, timeout, range, end.unwrap_or_else(crate::serving::unix_now)).await.map(Arc::new);
            Self::emit(&out, &repaint, Event::MetricsHistory { range, end, result });
        });
    }
}
