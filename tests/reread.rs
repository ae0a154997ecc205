//! The registry re-read runs in the window's backend and wakes the window only for a change: an idle
//! window is never woken (idle CPU 0%), and a move made by another program is shown within one poll.
//! The oracle for "woken" is the repaint callback the window gives the backend, counted here.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use steward::backend::{self, Command, Event};
use steward::config::{Context, RegistrySpec, Selection};

const POLL: Duration = Duration::from_millis(300);

/// Events until `done` says enough, at most 20 s.
fn until(h: &backend::BackendHandle, mut done: impl FnMut(&Event) -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        if let Some(ev) = h.recv_timeout(Duration::from_millis(100))
            && done(&ev)
        {
            return;
        }
    }
    panic!("the awaited event never came");
}

/// Drains whatever is pending, then counts wakes and events over `span`.
fn quiet_for(h: &backend::BackendHandle, wakes: &AtomicUsize, span: Duration) -> (usize, Vec<String>) {
    while h.recv_timeout(Duration::from_millis(200)).is_some() {}
    let before = wakes.load(Ordering::SeqCst);
    let mut events = Vec::new();
    let end = Instant::now() + span;
    while Instant::now() < end {
        if let Some(ev) = h.recv_timeout(Duration::from_millis(50)) {
            events.push(format!("{ev:?}").chars().take(120).collect());
        }
    }
    (wakes.load(Ordering::SeqCst) - before, events)
}

#[test]
fn an_idle_window_is_not_woken_and_a_move_by_another_program_is_shown_within_a_poll() {
    let home = tempfile::tempdir().unwrap();
    let ctx = Context::resolve(&Selection { home: Some(home.path().to_path_buf()), ..Selection::default() }).unwrap();
    let wakes = Arc::new(AtomicUsize::new(0));
    let counter = wakes.clone();
    let h = backend::start_with(ctx.home.clone(), ctx.timeout, ctx.policy.clone(), Arc::new(move || {
        counter.fetch_add(1, Ordering::SeqCst);
    }), POLL);
    h.send(Command::Connect(RegistrySpec::HomeLocal));
    until(&h, |e| matches!(e, Event::Models { result: Ok(m), .. } if !m.is_empty()));
    h.send(Command::LoadHistory { model: "income-classifier".into() });
    until(&h, |e| matches!(e, Event::History { result: Ok(_), .. }));

    // Ten polls with nothing changed: no event, no wake.
    let (woken, events) = quiet_for(&h, &wakes, POLL * 10);
    assert_eq!((woken, events.len()), (0, 0), "an idle window was woken: {events:?}");

    // Another program (the CLI) moves an alias: the models and the alias history come within a poll or two.
    let out = common::steward(home.path(), &["promote", "income-classifier", "1", "--alias", "staging", "--reason", "outside", "--yes"]);
    assert!(out.status.success(), "{}", common::stderr(&out));
    let seen = Instant::now();
    let (mut models, mut history) = (false, false);
    until(&h, |e| {
        match e {
            Event::Models { result: Ok(m), .. } => {
                models = m.iter().any(|m| m.name == "income-classifier" && m.aliases.get("staging") == Some(&1));
            }
            Event::History { result: Ok(h), .. } => history = h.iter().any(|e| e.alias == "staging"),
            _ => {}
        }
        models && history
    });
    assert!(seen.elapsed() < POLL * 5, "took {:?}", seen.elapsed());
    let woken_by_move = wakes.load(Ordering::SeqCst);
    assert!(woken_by_move > 0);

    // And quiet again.
    let (woken, events) = quiet_for(&h, &wakes, POLL * 10);
    assert_eq!((woken, events.len()), (0, 0), "woken again with nothing changed: {events:?}");
}
