//! Progress of making a report, shared by both faces: `gather` reports each step as it starts; the
//! window polls [`Progress::get`] for its bar, the command line prints each step through a listener.

use std::sync::Mutex;

/// The fraction done (0.0..=1.0) and the step under way.
pub struct Progress {
    state: Mutex<(f32, String)>,
    listener: Option<Box<dyn Fn(f32, &str) + Send + Sync>>,
}

impl Default for Progress {
    fn default() -> Self {
        Progress { state: Mutex::new((0.0, "starting".into())), listener: None }
    }
}

impl std::fmt::Debug for Progress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (fraction, step) = self.get();
        f.debug_struct("Progress").field("fraction", &fraction).field("step", &step).finish()
    }
}

impl Progress {
    /// Progress that is only polled (the window).
    pub fn new() -> Progress {
        Progress::default()
    }

    /// Progress that also calls `listener(fraction, step)` at every step (the command line's lines).
    pub fn with_listener(listener: impl Fn(f32, &str) + Send + Sync + 'static) -> Progress {
        Progress { listener: Some(Box::new(listener)), ..Progress::default() }
    }

    /// A step starts; `fraction` is the share of the work done before it.
    pub fn step(&self, fraction: f32, step: &str) {
        if let Ok(mut g) = self.state.lock() {
            *g = (fraction, step.to_string());
        }
        if let Some(l) = &self.listener {
            l(fraction, step);
        }
    }

    /// The last step reported, with the fraction done before it.
    pub fn get(&self) -> (f32, String) {
        self.state.lock().map(|g| g.clone()).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[test]
    fn steps_reach_the_poller_and_the_listener() {
        let calls = Arc::new(AtomicUsize::new(0));
        let seen = calls.clone();
        let p = super::Progress::with_listener(move |f, s| {
            assert!((0.0..=1.0).contains(&f) && !s.is_empty());
            seen.fetch_add(1, Ordering::SeqCst);
        });
        assert_eq!(p.get(), (0.0, "starting".to_string()));
        p.step(0.35, "reading the audit log");
        p.step(0.9, "assembling");
        assert_eq!(p.get(), (0.9, "assembling".to_string()));
        assert_eq!(calls.load(Ordering::SeqCst), 2);
    }
}
