//! The window's backend: a tokio runtime on its own thread. The UI sends `Command`s and drains `Event`s;
//! it never waits on the network or the disk.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::mpsc;
use std::time::Duration;

use tokio::sync::mpsc as tmpsc;

mod analysis;
mod moves;
mod registry;
mod reread;
mod watch;

use crate::audit::{AuditLog, Record};
use crate::config::{Home, Profile, Profiles, RegistrySpec};
use crate::connect::AnyRegistry;
use crate::fairness::{Progress, Report, Spec};
use crate::sources::LogRef;
use crate::serving::monitor::{MonitorConfig, MonitorEvent};
use crate::domain::{ModelVersion, RegisteredModel, SourceState, VersionNumber};
use crate::config::Policy;
use crate::ops::{AliasEvent, Interrupted, MovePlan, RollbackChoices, StepEvent};

/// How often the models and the selected model's aliases are re-read to notice moves made outside
/// Steward (by the backend itself; the window is woken only by a change).
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
    /// Try each connection of a profile (the dialog's "Test connection").
    TestProfile(Profile),
    /// Store, forget or look up a profile's credentials in the OS keyring (the profile dialog);
    /// answered with [`Event::Keyring`].
    Keyring { profile: String, action: KeyringAction },
    PlanPromote { model: String, version: VersionNumber, alias: String },
    PlanRollback { model: String, alias: String, to: Option<VersionNumber> },
    /// Every version a rollback of `model@alias` may go to, and Steward's proposal if it has one.
    RollbackChoices { model: String, alias: String },
    /// Carry out a plan (the ops layer re-checks everything).
    Execute { plan: MovePlan, reason: String, confirmation: Option<String> },
    /// Record observed moves of the model's aliases, then send its history.
    LoadHistory { model: String },
    VerifyAudit,
    /// Look for unsettled operations again (after a move whose outcome may be unknown).
    CheckUnsettled,
    /// Record the registry's state for an interrupted operation (by its intent's seq).
    Resolve { intent_seq: u64 },
    /// Read a prediction log's column names.
    FairnessColumns { log: LogRef },
    /// Analyze a prediction log; `run` tags the answer; `progress` is shared with the window (and cancels).
    Fairness { run: u64, log: LogRef, spec: Box<Spec>, progress: Arc<Progress> },
    /// (Re)start watching endpoints and metrics with this configuration (replaces the previous watch).
    Monitor(MonitorConfig),
    /// Per-version series over [end - range, end] (end: Unix seconds; None = now).
    MetricsHistory { prometheus: String, range: f64, end: Option<f64> },
    /// Whether live serving data is on screen (the Endpoints view): when it is not, new points and
    /// metrics do not wake the window (they wait in the channel); endpoint health changes and alerts do.
    LiveVisible(bool),
    /// The rules of a newly activated profile (read-only, protected aliases, endpoint bindings).
    SetPolicy(Policy),
    /// Gather and write an audit report (the same code as `steward report`).
    ExportReport {
        opts: Box<crate::report::Options>,
        format: crate::report::Format,
        out: PathBuf,
        profile: Option<Box<Profile>>,
        progress: Arc<crate::report::Progress>,
    },
}

/// What [`Command::Keyring`] does.
#[derive(Debug, Clone)]
pub enum KeyringAction {
    Status,
    Store(crate::connect::credentials::Credential),
    Forget,
}

#[derive(Debug, Clone)]
pub enum Event {
    /// Connection state of the registry; `generation` increases with every Connect.
    Registry { generation: u64, description: String, state: SourceState },
    Models { generation: u64, result: Result<Vec<RegisteredModel>, String> },
    Versions { generation: u64, model: String, result: Result<Vec<ModelVersion>, String> },
    Profiles(Profiles),
    ProfileTest(Vec<crate::serving::check::ConnectionCheck>),
    /// What the OS keyring holds for `profile` after a [`Command::Keyring`] (one sentence), or why the
    /// action failed.
    Keyring { profile: String, result: Result<String, String> },
    Notice(String),
    Error(String),
    Plan(Result<MovePlan, String>),
    RollbackChoices(Result<RollbackChoices, String>),
    /// One step of an executing plan (sent before its `Executed`).
    Step(StepEvent),
    /// The outcome record of an executed plan, or why it failed.
    Executed(Result<Record, String>),
    /// `notice` tells of aliases found moved outside Steward while fetching it.
    History { generation: u64, model: String, result: Result<Vec<AliasEvent>, String>, notice: Option<String> },
    AuditVerified(Result<String, String>),
    Interrupted(Vec<Interrupted>),
    FairnessColumns { log: LogRef, result: Result<Vec<String>, String> },
    Fairness { run: u64, result: Result<Arc<Report>, String>, elapsed: Duration },
    Monitor(MonitorEvent),
    MetricsHistory { range: f64, end: Option<f64>, result: Result<Arc<crate::serving::monitor::History>, String> },
    /// The files an export wrote, or why it failed.
    ReportDone(Result<Vec<PathBuf>, String>),
}

/// The UI's end of the backend.
pub struct BackendHandle {
    commands: tmpsc::UnboundedSender<Command>,
    events: mpsc::Receiver<Event>,
    /// The backend's runtime, once started (for its task count).
    runtime: Arc<std::sync::OnceLock<tokio::runtime::Handle>>,
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

    /// Tasks alive on the backend's runtime (probes, the monitor, loads in flight); None before it starts.
    pub fn alive_tasks(&self) -> Option<usize> {
        self.runtime.get().map(|h| h.metrics().num_alive_tasks())
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
    live_visible: std::sync::Arc<std::sync::atomic::AtomicBool>,
    /// The model whose aliases the re-read follows (the last one whose history was asked for).
    watched: Option<String>,
    reread: reread::Reread,
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

    /// The home's log, or the profile's team store.
    fn audit(&self) -> AuditLog {
        crate::ops::open_audit(&self.home, &self.policy)
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

}

/// Starts the backend thread. `repaint` is called after every event (the window's repaint request).
/// The registry is re-read every [`POLL_INTERVAL`].
pub fn start(home: Home, timeout: Duration, policy: Policy, repaint: Repaint) -> BackendHandle {
    start_with(home, timeout, policy, repaint, POLL_INTERVAL)
}

/// [`start`] with the registry re-read every `poll` (tests use a short one).
pub fn start_with(home: Home, timeout: Duration, policy: Policy, repaint: Repaint, poll: Duration) -> BackendHandle {
    let (cmd_tx, mut cmd_rx) = tmpsc::unbounded_channel::<Command>();
    let (ev_tx, ev_rx) = mpsc::channel::<Event>();
    let handle = Arc::new(std::sync::OnceLock::new());
    let runtime_slot = handle.clone();
    let spawned = std::thread::Builder::new().name("steward-backend".into()).spawn(move || {
        let runtime = match tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build() {
            Ok(rt) => {
                let _ = runtime_slot.set(rt.handle().clone());
                rt
            }
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
                live_visible: std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true)),
                watched: None,
                reread: reread::Reread::default(),
            };
            let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + poll, poll);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    cmd = cmd_rx.recv() => match cmd {
                        Some(cmd) => backend.handle(cmd).await,
                        None => break,
                    },
                    _ = tick.tick() => backend.reread(),
                }
            }
        });
    });
    if let Err(e) = spawned {
        eprintln!("steward: cannot start the backend thread: {e}");
    }
    BackendHandle { commands: cmd_tx, events: ev_rx, runtime: handle }
}

impl Backend {
    async fn handle(&mut self, cmd: Command) {
        match cmd {
            Command::Connect(spec) => self.connect(spec).await,
            Command::RefreshModels => self.refresh_models(false),
            Command::LoadVersions { model } => self.load_versions(model),
            Command::OpenSample => self.open_sample().await,
            Command::SaveProfile { profile, activate } => self.save_profile(profile, activate).await,
            Command::TestProfile(profile) => {
                let (home, timeout, out, repaint) = (self.home.clone(), self.timeout, self.out.clone(), self.repaint.clone());
                tokio::spawn(async move {
                    let checks = crate::serving::check::check_profile(&profile, &home, timeout).await;
                    Self::emit(&out, &repaint, Event::ProfileTest(checks));
                    if let Some(n) = crate::connect::credentials::take_notice() {
                        Self::emit(&out, &repaint, Event::Notice(n));
                    }
                });
            }
            Command::Keyring { profile, action } => self.keyring(profile, action).await,
            c @ (Command::FairnessColumns { .. } | Command::Fairness { .. }) => self.fairness(c),
            Command::Monitor(cfg) => self.start_monitor(cfg),
            Command::MetricsHistory { prometheus, range, end } => self.metrics_history(prometheus, range, end),
            Command::LiveVisible(v) => self.live_visible.store(v, std::sync::atomic::Ordering::Relaxed),
            Command::SetPolicy(p) => self.policy = p,
            Command::CheckUnsettled => self.check_unsettled().await,
            Command::ExportReport { opts, format, out, profile, progress } => {
                self.export_report(*opts, format, out, profile.map(|p| *p), progress)
            }
            other => self.handle_ops(other),
        }
    }
}
