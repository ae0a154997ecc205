//! The Endpoints view's state: endpoint snapshots from the monitor, live series per (model, version,
//! metric), history from Prometheus, alerts. Filled by backend events; nothing here does I/O.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::app::{Loadable, StewardApp};
use super::chart::ChartCache;
use crate::serving::alerts::Transition;
use crate::backend::Command;
use crate::serving::monitor::{History, MonitorConfig, MonitorEvent};
use crate::serving::metrics::MetricsReport;
use crate::serving::oip::EndpointState;
use crate::serving::series::Series;

/// The live window kept in memory.
pub const LIVE_WINDOW: f64 = 15.0 * 60.0;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Range {
    Live,
    /// The last N hours up to now.
    Hours(u32),
    /// An absolute range, Unix seconds (UTC), start < end.
    Between { start: i64, end: i64 },
}

impl Range {
    pub const ALL: [Range; 6] = [Range::Live, Range::Hours(1), Range::Hours(6), Range::Hours(24), Range::Hours(24 * 7), Range::Hours(24 * 30)];
    pub fn title(self) -> String {
        match self {
            Range::Live => "Live (15 min)".into(),
            Range::Hours(h) if h % 24 == 0 => format!("{} d", h / 24),
            Range::Hours(h) => format!("{h} h"),
            Range::Between { start, end } => {
                let f = |t: i64| chrono::DateTime::from_timestamp(t, 0).map(|d| d.format("%Y-%m-%d %H:%M").to_string()).unwrap_or_default();
                let (a, b) = (f(start), f(end));
                // "2026-11-29 10:00 to 12:00" when both ends are on one day.
                match (a.split_once(' '), b.split_once(' ')) {
                    (Some((da, _)), Some((db, tb))) if da == db => format!("{a} to {tb} UTC"),
                    _ => format!("{a} to {b} UTC"),
                }
            }
        }
    }
    pub fn secs(self) -> f64 {
        match self {
            Range::Live => LIVE_WINDOW,
            Range::Hours(h) => h as f64 * 3600.0,
            Range::Between { start, end } => (end - start) as f64,
        }
    }

    /// The end of an absolute range (Unix seconds); `None` for ranges that end now.
    pub fn end(self) -> Option<f64> {
        match self {
            Range::Between { end, .. } => Some(end as f64),
            _ => None,
        }
    }

    /// An absolute range from what an operator typed: "2026-11-29" (a date: from its start, or to its
    /// end), "2026-11-29 10:00" or RFC 3339, in UTC ([`crate::ops::parse_period`]).
    pub fn between(from: &str, to: &str) -> Result<Range, String> {
        let bad = |w: &str, s: &str| format!("{w} '{s}' is not a date (2026-11-29), a time (2026-11-29 10:00) or RFC 3339");
        let start = crate::ops::parse_period(from).ok_or_else(|| bad("From", from))?.0.timestamp();
        let end = crate::ops::parse_period(to).ok_or_else(|| bad("To", to))?.1.timestamp();
        if end <= start {
            return Err("To must be after From".into());
        }
        Ok(Range::Between { start, end })
    }
    /// The key a history answer is matched by: (seconds, end or now).
    pub fn history_key(self) -> HistoryKey {
        (self.secs(), self.end())
    }
}

/// A history request: (range in seconds, its end in Unix seconds or `None` for now).
pub type HistoryKey = (f64, Option<f64>);

/// (model, version, metric)
pub type SeriesKey = (String, String, String);

#[derive(Default)]
pub struct EndpointsState {
    pub config: Option<MonitorConfig>,
    pub endpoints: Vec<EndpointState>,
    pub live: BTreeMap<SeriesKey, Series>,
    pub source: String,
    pub report: Option<Box<MetricsReport>>,
    pub metrics_error: Option<String>,
    pub range: Option<Range>,
    pub history: Option<(HistoryKey, Loadable<BTreeMap<SeriesKey, Series>>)>,
    /// The absolute range being typed: (from, to, last error).
    pub custom: Option<(String, String, Option<String>)>,
    pub alerts: Vec<(f64, Transition)>,
    pub firing: BTreeMap<(String, String), f64>,
    pub cache: ChartCache,
    pub model: Option<String>,
    /// (model, version) -> its aliases in the registry ("champion"), for series names.
    pub model_aliases: BTreeMap<(String, String), String>,
    /// `models()` as of the last event (not recomputed every frame).
    pub models_seen: Vec<String>,
}

impl EndpointsState {
    pub fn replaying(&self) -> bool {
        self.config.as_ref().is_some_and(|c| c.replay.is_some())
    }

    pub fn range(&self) -> Range {
        self.range.unwrap_or(Range::Live)
    }

    /// Models seen in live points or in endpoint snapshots.
    pub fn models(&self) -> Vec<String> {
        let mut m: Vec<String> = self.live.keys().map(|k| k.0.clone()).collect();
        m.extend(self.endpoints.iter().flat_map(|e| e.models.iter().map(|s| s.name.clone())));
        m.sort();
        m.dedup();
        m
    }
}

/// The monitor configuration of the active profile (plus the replay when asked for).
pub fn config_for(app: &StewardApp, replay: bool) -> MonitorConfig {
    let p = app.active_profile.clone().unwrap_or_default();
    MonitorConfig {
        endpoints: p.endpoints.clone(),
        prometheus: p.prometheus.clone(),
        scrape: p.scrape.clone(),
        alerts: crate::serving::alerts::rules_or_default(&p.alerts),
        timeout: app.timeout.min(std::time::Duration::from_secs(5)),
        replay: replay.then(|| app.home.sample_log()),
    }
}


/// Starts (or restarts) the watch; called when the window opens and when the profile or replay changes.
pub fn start(app: &mut StewardApp, replay: bool) {
    let cfg = config_for(app, replay);
    if app.endpoints.config.as_ref() == Some(&cfg) {
        return;
    }
    // Pausing or resuming the replay (leaving or entering the view) keeps what was drawn so far.
    let only_replay = app.endpoints.config.as_ref().is_some_and(|c| MonitorConfig { replay: cfg.replay.clone(), ..c.clone() } == cfg);
    if !only_replay {
        app.endpoints.live.clear();
        app.endpoints.endpoints.clear();
        app.endpoints.report = None;
        app.endpoints.metrics_error = None;
    }
    app.endpoints.config = Some(cfg.clone());
    app.backend.send(Command::Monitor(cfg));
}

/// Names versions by their registry aliases in charts (champion and challenger overlaid).
pub fn refresh_aliases(app: &mut StewardApp) {
    let Loadable::Ready(models) = &app.models else { return };
    let mut m = BTreeMap::new();
    for name in &app.endpoints.models_seen {
        if let Some(rm) = models.iter().find(|x| &x.name == name) {
            let mut by_version: BTreeMap<String, Vec<&str>> = BTreeMap::new();
            for (a, v) in &rm.aliases {
                by_version.entry(v.to_string()).or_default().push(a);
            }
            for (v, a) in by_version {
                m.insert((name.clone(), v), a.join(", "));
            }
        }
    }
    app.endpoints.model_aliases = m;
}

pub fn on_monitor(app: &mut StewardApp, ev: MonitorEvent) {
    let st = &mut app.endpoints;
    match ev {
        MonitorEvent::Endpoints(mut list) => {
            // Problems first, then in configuration order.
            list.sort_by_key(|e| match e.health {
                crate::serving::oip::Health::Down | crate::serving::oip::Health::NotOip => 0,
                crate::serving::oip::Health::Degraded => 1,
                crate::serving::oip::Health::Up => 2,
            });
            st.endpoints = list;
            st.models_seen = st.models();
        }
        MonitorEvent::Samples { source, points, report } => {
            st.source = source;
            st.metrics_error = None;
            if report.is_some() {
                st.report = report;
            }
            for p in points {
                let s = st.live.entry((p.model, p.version, p.metric.to_string())).or_default();
                s.push(p.t, p.v);
            }
            st.models_seen = st.models();
            if st.model.is_none() {
                st.model = st.models_seen.first().cloned();
            }
        }
        MonitorEvent::MetricsError(e) => st.metrics_error = Some(e),
        MonitorEvent::Alert(tr) => note_alert(st, tr),
    }
}

/// An alert started or stopped firing (serving or monitoring): the firing set (status bar) and the
/// notifications list (newest first, at most 200).
pub fn note_alert(st: &mut EndpointsState, tr: Transition) {
    let now = crate::serving::unix_now();
    match &tr {
        Transition::Fired { rule, series, .. } => {
            st.firing.insert((rule.clone(), series.clone()), now);
        }
        Transition::Resolved { rule, series, .. } => {
            st.firing.remove(&(rule.clone(), series.clone()));
        }
    }
    st.alerts.insert(0, (now, tr));
    st.alerts.truncate(200);
}

pub fn on_history(app: &mut StewardApp, range: HistoryKey, result: Result<Arc<History>, String>) {
    let st = &mut app.endpoints;
    if st.history.as_ref().map(|h| h.0) != Some(range) {
        return;
    }
    let value = match result {
        Ok(h) => {
            let mut m = BTreeMap::new();
            for ((model, version, metric), pts) in h.iter() {
                let mut s = Series::new();
                for (t, v) in pts {
                    s.push(*t, *v);
                }
                m.insert((model.clone(), version.clone(), metric.to_string()), s);
            }
            Loadable::Ready(m)
        }
        Err(e) => Loadable::Failed(e),
    };
    st.history = Some((range, value));
}

/// Asks Prometheus for the chosen range (the live range needs nothing).
pub fn set_range(app: &mut StewardApp, range: Range) {
    app.endpoints.range = Some(range);
    if range == Range::Live {
        return;
    }
    let Some(prom) = app.endpoints.config.as_ref().and_then(|c| c.prometheus.clone()) else {
        app.endpoints.history = Some((range.history_key(), Loadable::Failed("history needs a Prometheus in the profile (prometheus = URL)".into())));
        return;
    };
    app.endpoints.history = Some((range.history_key(), Loadable::Loading));
    app.backend.send(Command::MetricsHistory { prometheus: prom, range: range.secs(), end: range.end() });
}
