//! The window's backend: a tokio runtime on its own thread. The UI sends `Command`s and drains `Event`s;
//! it never waits on the network or the disk.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::mpsc;
use std::time::Duration;

use tokio::sync::mpsc as tmpsc;

use crate::audit::{AuditLog, Record};
use crate::config::{Home, Profile, Profiles, RegistrySpec};
use crate::connect::{AnyRegistry, Registry};
use crate::fairness::{Progress, Report, Spec};
use crate::monitor::{MonitorConfig, MonitorEvent};
use crate::domain::{ModelVersion, RegisteredModel, SourceState, VersionNumber, show_version};
use crate::ops::{self, AliasEvent, Interrupted, MovePlan, Ops, Policy, StepEvent};

/// How often the selected model's aliases are re-read to notice moves made outside Steward.
pub const POLL_INTERVAL: Duration = Duration::from_secs(30);

#[derive(Debug, Clone)]
pub enum Command {
    /// (Re)connect to a registry and list its models.
    Connect(RegistrySpec),
    RefreshModels,
    LoadVersions { model: String },
    /// Create the sample workspace in the connected local registry (or the home's).
    OpenSample,
    /// Add or replace a profile; when `activate`, make it the default and connect to it.
    SaveProfile { profile: Profile, activate: bool },
    PlanPromote { model: String, version: VersionNumber, alias: String },
    PlanRollback { model: String, alias: String, to: Option<VersionNumber> },
    /// Carry out a plan (the ops layer re-checks everything).
    Execute { plan: MovePlan, reason: String, confirmation: Option<String> },
    /// Record observed moves of the model's aliases, then send its history.
    LoadHistory { model: String },
    VerifyAudit,
    /// Record the registry's state for an interrupted operation (by its intent's seq).
    Resolve { intent_seq: u64 },
    /// Read a prediction log's column names.
    FairnessColumns { path: PathBuf },
    /// Analyze a prediction log; `run` tags the answer; `progress` is shared with the window (and cancels).
    Fairness { run: u64, path: PathBuf, spec: Box<Spec>, progress: Arc<Progress> },
    /// (Re)start watching endpoints and metrics with this configuration (replaces the previous watch).
    Monitor(MonitorConfig),
    /// Per-version series over the last `range` seconds from Prometheus.
    MetricsHistory { prometheus: String, range: f64 },
    /// The rules of a newly activated profile (read-only, protected aliases, endpoint bindings).
    SetPolicy(Policy),
    /// Gather and write an audit report (the same code as `steward report`).
    ExportReport {
        opts: Box<crate::report::Options>,
        format: crate::report::Format,
        out: PathBuf,
        profile: Option<Box<Profile>>,
        progress: crate::ui::ExportProgress,
    },
}

#[derive(Debug, Clone)]
pub enum Event {
    /// Connection state of the registry; `generation` increases with every Connect.
    Registry { generation: u64, description: String, state: SourceState },
    Models { generation: u64, result: Result<Vec<RegisteredModel>, String> },
    Versions { generation: u64, model: String, result: Result<Vec<ModelVersion>, String> },
    Profiles(Profiles),
    Notice(String),
    Error(String),
    Plan(Result<MovePlan, String>),
    /// One step of an executing plan (sent before its `Executed`).
    Step(StepEvent),
    /// The outcome record of an executed plan, or why it failed.
    Executed(Result<Record, String>),
    /// `notice` tells of aliases found moved outside Steward while fetching it.
    History { generation: u64, model: String, result: Result<Vec<AliasEvent>, String>, notice: Option<String> },
    AuditVerified(Result<String, String>),
    Interrupted(Vec<Interrupted>),
    FairnessColumns { path: PathBuf, result: Result<Vec<String>, String> },
    Fairness { run: u64, result: Result<Arc<Report>, String>, elapsed: Duration },
    Monitor(MonitorEvent),
    MetricsHistory { range: f64, result: Result<Arc<crate::monitor::History>, String> },
    /// The files an export wrote, or why it failed.
    ReportDone(Result<Vec<PathBuf>, String>),
}

/// The UI's end of the backend.
pub struct BackendHandle {
    commands: tmpsc::UnboundedSender<Command>,
    events: mpsc::Receiver<Event>,
}

impl BackendHandle {
    pub fn send(&self, cmd: Command) {
        // The backend only stops when the handle is dropped, so a failed send means shutdown.
        let _ = self.commands.send(cmd);
    }

    /// Drains events for at most `budget`, so a flood of data never stalls a frame.
    pub fn drain(&self, budget: Duration, mut apply: impl FnMut(Event)) {
        let start = std::time::Instant::now();
        while let Ok(ev) = self.events.try_recv() {
            apply(ev);
            if start.elapsed() >= budget {
                break;
            }
        }
    }

    /// For tests: waits up to `timeout` for the next event.
    pub fn recv_timeout(&self, timeout: Duration) -> Option<Event> {
        self.events.recv_timeout(timeout).ok()
    }
}

type Repaint = Arc<dyn Fn() + Send + Sync>;

struct Backend {
    home: Home,
    timeout: Duration,
    policy: Policy,
    interrupted: Vec<Interrupted>,
    generation: u64,
    registry: Option<AnyRegistry>,
    out: mpsc::Sender<Event>,
    repaint: Repaint,
    monitor: Option<tokio::task::JoinHandle<()>>,
}

impl Backend {
    fn emit(out: &mpsc::Sender<Event>, repaint: &Repaint, ev: Event) {
        if out.send(ev).is_ok() {
            repaint();
        }
    }

    fn send(&self, ev: Event) {
        Self::emit(&self.out, &self.repaint, ev);
    }

    async fn connect(&mut self, spec: RegistrySpec) {
        self.generation += 1;
        let generation = self.generation;
        let description = spec.display(&self.home);
        self.send(Event::Registry { generation, description: description.clone(), state: SourceState::Connecting });
        let (home, timeout) = (self.home.clone(), self.timeout);
        let opened = tokio::task::spawn_blocking(move || spec.open(&home, timeout)).await;
        match opened {
            Ok(Ok(reg)) => {
                self.registry = Some(reg.clone());
                self.refresh_models(true);
                match ops::find_interrupted(&self.audit(), &reg).await {
                    Ok(found) if !found.is_empty() => {
                        self.interrupted = found.clone();
                        self.send(Event::Interrupted(found));
                    }
                    Ok(_) => {}
                    Err(e) => self.send(Event::Error(format!("could not check for interrupted operations: {e}"))),
                }
            }
            Ok(Err(e)) => {
                self.registry = None;
                self.send(Event::Registry { generation, description, state: SourceState::Failed(e.to_string()) });
            }
            Err(e) => {
                self.registry = None;
                self.send(Event::Registry { generation, description, state: SourceState::Failed(e.to_string()) });
            }
        }
    }

    /// Lists models in a task of its own; the first successful answer marks the registry connected.
    fn refresh_models(&self, report_state: bool) {
        let Some(reg) = self.registry.clone() else {
            self.send(Event::Error("no registry is connected".into()));
            return;
        };
        let (out, repaint, generation) = (self.out.clone(), self.repaint.clone(), self.generation);
        tokio::spawn(async move {
            let result = reg.list_models().await.map_err(|e| e.to_string());
            if report_state {
                let state = match &result {
                    Ok(_) => SourceState::Connected,
                    Err(e) => SourceState::Failed(e.clone()),
                };
                Self::emit(&out, &repaint, Event::Registry { generation, description: reg.describe(), state });
            }
            Self::emit(&out, &repaint, Event::Models { generation, result });
        });
    }

    fn load_versions(&self, model: String) {
        let Some(reg) = self.registry.clone() else { return };
        let (out, repaint, generation) = (self.out.clone(), self.repaint.clone(), self.generation);
        tokio::spawn(async move {
            let result = reg.list_versions(&model).await.map_err(|e| e.to_string());
            Self::emit(&out, &repaint, Event::Versions { generation, model, result });
        });
    }

    async fn open_sample(&mut self) {
        let target = match &self.registry {
            Some(AnyRegistry::Local(l)) => Ok(l.clone()),
            Some(AnyRegistry::Mlflow(_)) | None => {
                crate::connect::local::LocalRegistry::open(&self.home.registry_file()).map(|(l, _)| l)
            }
        };
        let switch = !matches!(self.registry, Some(AnyRegistry::Local(_)));
        let home = self.home.clone();
        let result = match target {
            Ok(reg) => tokio::task::spawn_blocking(move || crate::sample::create(&reg, &home))
                .await
                .map_err(|e| e.to_string())
                .and_then(|r| r.map_err(|e| e.to_string())),
            Err(e) => Err(e.to_string()),
        };
        match result {
            Ok(outcome) => {
                self.send(Event::Notice(match outcome {
                    crate::sample::Outcome::Created { versions } => {
                        format!("Sample workspace created: {} with {versions} versions", crate::sample::MODEL)
                    }
                    crate::sample::Outcome::AlreadyPresent => {
                        format!("The sample workspace is already here ({})", crate::sample::MODEL)
                    }
                }));
                if switch {
                    self.connect(RegistrySpec::HomeLocal).await;
                } else {
                    self.refresh_models(false);
                }
            }
            Err(e) => self.send(Event::Error(format!("could not create the sample workspace: {e}"))),
        }
    }

    fn audit(&self) -> AuditLog {
        AuditLog::new(self.home.audit_log())
    }

    /// Runs `f` with an `Ops` on the connected registry in a task of its own and sends its event.
    fn with_ops<F, Fut>(&self, f: F)
    where
        F: FnOnce(AnyRegistry, AuditLog, Policy) -> Fut + Send + 'static,
        Fut: std::future::Future<Output = Event> + Send,
    {
        let Some(reg) = self.registry.clone() else {
            self.send(Event::Error("no registry is connected".into()));
            return;
        };
        let (out, repaint, audit, policy) = (self.out.clone(), self.repaint.clone(), self.audit(), self.policy.clone());
        tokio::spawn(async move {
            let ev = f(reg, audit, policy).await;
            Self::emit(&out, &repaint, ev);
        });
    }

    fn history(&self, model: String) {
        let generation = self.generation;
        self.with_ops(move |reg, audit, _| async move {
            let result = async {
                let m = reg.get_model(&model).await.map_err(|e| e.to_string())?;
                let user = crate::cli::os_user();
                let audit2 = audit.clone();
                let (desc, name, aliases) = (reg.describe(), model.clone(), m.aliases.clone());
                tokio::task::spawn_blocking(move || -> Result<(Vec<AliasEvent>, Vec<Record>), String> {
                    ops::observe(&audit2, &user, &desc, &name, &aliases).map_err(|e| e.to_string())
                })
                .await
                .map_err(|e| e.to_string())?
            }
            .await;
            // Moves made outside Steward are worth a notice, not only a line in the log.
            let moved: Vec<String> = match &result {
                Ok((_, seen)) => seen
                    .iter()
                    .filter(|r| r.entry.action == "alias_moved")
                    .map(|r| {
                        format!(
                            "{}@{} moved outside Steward: {} -> {}",
                            r.entry.model,
                            r.entry.alias,
                            show_version(r.entry.from),
                            show_version(r.entry.to)
                        )
                    })
                    .collect(),
                Err(_) => Vec::new(),
            };
            let notice = (!moved.is_empty()).then(|| moved.join("; "));
            Event::History { generation, model, result: result.map(|(h, _)| h), notice }
        });
    }

    fn handle_ops(&mut self, cmd: Command) {
        match cmd {
            Command::PlanPromote { model, version, alias } => self.with_ops(move |reg, audit, policy| async move {
                let ops = Ops { registry: &reg, audit, os_user: crate::cli::os_user(), policy };
                Event::Plan(ops.plan_promote(&model, version, &alias).await.map_err(|e| e.to_string()))
            }),
            Command::PlanRollback { model, alias, to } => self.with_ops(move |reg, audit, policy| async move {
                let ops = Ops { registry: &reg, audit, os_user: crate::cli::os_user(), policy };
                Event::Plan(ops.plan_rollback(&model, &alias, to).await.map_err(|e| e.to_string()))
            }),
            // The UI asks for fresh models, versions and history when it receives `Executed`.
            Command::Execute { plan, reason, confirmation } => {
                let (out, repaint) = (self.out.clone(), self.repaint.clone());
                self.with_ops(move |reg, audit, policy| async move {
                    let ops = Ops { registry: &reg, audit, os_user: crate::cli::os_user(), policy };
                    let progress = move |s: StepEvent| Self::emit(&out, &repaint, Event::Step(s));
                    let r = ops.execute_with_progress(&plan, &reason, confirmation.as_deref(), &progress).await;
                    Event::Executed(r.map_err(|e| e.to_string()))
                })
            }
            Command::LoadHistory { model } => self.history(model),
            Command::VerifyAudit => {
                let path = self.home.audit_log();
                self.with_ops(move |_, _, _| async move {
                    let r = tokio::task::spawn_blocking(move || {
                        if !path.exists() {
                            return Ok("The audit log is empty (no actions recorded yet)".to_string());
                        }
                        crate::audit::verify(&path)
                            .map(|v| format!("OK: {} records, head {}", v.count, v.head))
                            .map_err(|e| e.to_string())
                    })
                    .await
                    .map_err(|e| e.to_string())
                    .and_then(|r| r);
                    Event::AuditVerified(r)
                });
            }
            Command::Resolve { intent_seq } => {
                let item = self.interrupted.iter().find(|i| i.intent.seq == intent_seq).cloned();
                self.interrupted.retain(|i| i.intent.seq != intent_seq);
                let Some(item) = item else { return };
                // The append fsyncs: keep it off the async workers.
                self.with_ops(move |_, audit, _| async move {
                    let done = tokio::task::spawn_blocking(move || {
                        ops::resolve(&audit, &crate::cli::os_user(), &item, "resolved in the window").map_err(|e| e.to_string())
                    })
                    .await
                    .map_err(|e| e.to_string())
                    .and_then(|r| r);
                    match done {
                        Ok(r) => Event::Notice(format!("Resolution recorded (audit record {})", r.seq)),
                        Err(e) => Event::Error(format!("could not record the resolution: {e}")),
                    }
                });
            }
            _ => {}
        }
    }

    /// Reads and counts logs on the blocking pool (the engine uses both cores itself).
    fn fairness(&self, cmd: Command) {
        let (out, repaint) = (self.out.clone(), self.repaint.clone());
        tokio::task::spawn_blocking(move || {
            let ev = match cmd {
                Command::FairnessColumns { path } => {
                    let result = crate::fairness::columns(&path).map(|(c, _)| c).map_err(|e| e.to_string());
                    Event::FairnessColumns { path, result }
                }
                Command::Fairness { run, path, spec, progress } => {
                    let started = std::time::Instant::now();
                    let result = crate::fairness::analyze(&path, &spec, &progress).map(Arc::new).map_err(|e| e.to_string());
                    Event::Fairness { run, result, elapsed: started.elapsed() }
                }
                _ => return,
            };
            Self::emit(&out, &repaint, ev);
        });
    }

    /// Replaces the running watch. Alerts are also written to the audit log.
    fn start_monitor(&mut self, cfg: MonitorConfig) {
        if let Some(h) = self.monitor.take() {
            h.abort();
        }
        if cfg.endpoints.is_empty() && cfg.prometheus.is_none() && cfg.scrape.is_empty() && cfg.replay.is_none() {
            return;
        }
        let (out, repaint, audit) = (self.out.clone(), self.repaint.clone(), self.audit());
        self.monitor = Some(tokio::spawn(crate::monitor::run(cfg, move |ev| {
            if let MonitorEvent::Alert(tr) = &ev {
                let (audit, tr) = (audit.clone(), tr.clone());
                tokio::task::spawn_blocking(move || {
                    let _ = crate::monitor::record_alert(&audit, &crate::cli::os_user(), &tr);
                });
            }
            let ok = out.send(Event::Monitor(ev)).is_ok();
            if ok {
                repaint();
            }
            ok
        })));
    }

    /// Gathers on the runtime (registry, audit log, Prometheus), renders on the blocking pool.
    fn export_report(
        &self,
        opts: crate::report::Options,
        format: crate::report::Format,
        out: PathBuf,
        profile: Option<Profile>,
        progress: crate::ui::ExportProgress,
    ) {
        let Some(reg) = self.registry.clone() else {
            self.send(Event::ReportDone(Err("no registry is connected".into())));
            return;
        };
        let (events, repaint, audit) = (self.out.clone(), self.repaint.clone(), self.audit());
        tokio::spawn(async move {
            let report = |f: f32, step: &str| {
                if let Ok(mut g) = progress.lock() {
                    *g = (f, step.to_string());
                }
            };
            let result = match crate::report::gather(&reg, &audit, profile.as_ref(), &opts, &report).await {
                Ok(data) => tokio::task::spawn_blocking(move || crate::report::render(&data, format, &out).map_err(|e| e.to_string()))
                    .await
                    .map_err(|e| e.to_string())
                    .and_then(|r| r),
                Err(e) => Err(e.to_string()),
            };
            Self::emit(&events, &repaint, Event::ReportDone(result));
        });
    }

    fn metrics_history(&self, prometheus: String, range: f64) {
        let (out, repaint, timeout) = (self.out.clone(), self.repaint.clone(), self.timeout);
        tokio::spawn(async move {
            let result = crate::monitor::history(&prometheus, timeout, range, crate::serving::unix_now()).await.map(Arc::new);
            Self::emit(&out, &repaint, Event::MetricsHistory { range, result });
        });
    }

    async fn save_profile(&mut self, profile: Profile, activate: bool) {
        let home = self.home.clone();
        let p = profile.clone();
        let saved = tokio::task::spawn_blocking(move || -> Result<Profiles, String> {
            let mut all = Profiles::load(&home)?;
            all.upsert(p.clone())?;
            if activate {
                all.active = Some(p.name.clone());
            }
            all.save(&home)?;
            Ok(all)
        })
        .await
        .map_err(|e| e.to_string())
        .and_then(|r| r);
        match saved {
            Ok(all) => {
                self.send(Event::Profiles(all));
                self.send(Event::Notice(format!("Profile '{}' saved", profile.name)));
                if activate {
                    match RegistrySpec::select(None, Some(&profile), None) {
                        Ok((spec, _)) => self.connect(spec).await,
                        Err(e) => self.send(Event::Error(e)),
                    }
                }
            }
            Err(e) => self.send(Event::Error(format!("profile not saved: {e}"))),
        }
    }
}

/// Starts the backend thread. `repaint` is called after every event (egui's `request_repaint`).
pub fn start(home: Home, timeout: Duration, policy: Policy, repaint: Repaint) -> BackendHandle {
    let (cmd_tx, mut cmd_rx) = tmpsc::unbounded_channel::<Command>();
    let (ev_tx, ev_rx) = mpsc::channel::<Event>();
    let spawned = std::thread::Builder::new().name("steward-backend".into()).spawn(move || {
        let runtime = match tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build() {
            Ok(rt) => rt,
            Err(e) => {
                let _ = ev_tx.send(Event::Error(format!("cannot start the background runtime: {e}")));
                repaint();
                return;
            }
        };
        runtime.block_on(async move {
            let mut backend = Backend {
                home,
                timeout,
                policy,
                interrupted: Vec::new(),
                generation: 0,
                registry: None,
                out: ev_tx,
                repaint,
                monitor: None,
            };
            while let Some(cmd) = cmd_rx.recv().await {
                match cmd {
                    Command::Connect(spec) => backend.connect(spec).await,
                    Command::RefreshModels => backend.refresh_models(false),
                    Command::LoadVersions { model } => backend.load_versions(model),
                    Command::OpenSample => backend.open_sample().await,
                    Command::SaveProfile { profile, activate } => backend.save_profile(profile, activate).await,
                    c @ (Command::FairnessColumns { .. } | Command::Fairness { .. }) => backend.fairness(c),
                    Command::Monitor(cfg) => backend.start_monitor(cfg),
                    Command::MetricsHistory { prometheus, range } => backend.metrics_history(prometheus, range),
                    Command::SetPolicy(p) => backend.policy = p,
                    Command::ExportReport { opts, format, out, profile, progress } => {
                        backend.export_report(*opts, format, out, profile.map(|p| *p), progress)
                    }
                    other => backend.handle_ops(other),
                }
            }
        });
    });
    if let Err(e) = spawned {
        eprintln!("steward: cannot start the backend thread: {e}");
    }
    BackendHandle { commands: cmd_tx, events: ev_rx }
}
