//! The pipeline for line-oriented logs (CSV, JSON Lines): one thread reads blocks (256 KiB doubling to 4 MiB) and cuts them at
//! a record boundary; two workers count whole blocks into their own sink (the fairness engine's `Tally`,
//! the monitoring engines' counts); the sinks are merged at the end by the caller. Memory is bounded by a
//! pool of four blocks. Line numbers are resolved after the fact from each block's line count, so workers
//! never wait for each other.

use std::io::Read;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, Sender, channel, sync_channel};

use super::counts::{Counts, merge};
use super::error::{FairnessError, Location};
use super::plan::Plan;
use super::tally::{Pos, Tally};
use super::Progress;

/// The largest block. Blocks start at [`FIRST_BLOCK`] and double with each full block read, so a small
/// input touches only as much memory as it holds (a 4 MiB buffer is zero-filled, hence resident, in full).
const BLOCK: usize = 4 << 20;
const FIRST_BLOCK: usize = 256 << 10;
const BUFFERS: usize = 4;
const WORKERS: usize = 2;

/// What a block held.
pub(crate) struct Processed {
    /// Physical lines in the block (newlines, plus one for a last line without a newline).
    pub lines: u64,
    /// The tally asked to stop (a bad row without --skip-bad-rows).
    pub stopped: bool,
}

/// Where a buffer is cut, and whether the part before the cut is known to hold no '"' (so a CSV
/// worker need not look for quotes again).
pub(crate) struct Cut {
    pub at: usize,
    pub plain: bool,
}

/// A line-oriented record format, counted into sinks of type `S`.
pub(crate) trait Records<S>: Sync {
    type Scratch: Default;
    /// The longest prefix of `buf` that ends just after a record (`at` 0 when there is none).
    fn split_point(&self, buf: &[u8]) -> Cut;
    /// Counts the records of one block (`plain`: it is known to hold no '"'). Positions are
    /// `Pos { major: block, minor: line in block }`.
    fn process(&self, block: &[u8], plain: bool, major: u64, sink: &mut S, scratch: &mut Self::Scratch) -> Processed;
}

/// Runs the pipeline over a reader without header (JSON Lines).
pub(crate) fn run<'p, R: Records<Tally<'p>>>(
    mut reader: Box<dyn Read + Send + '_>,
    plan: &'p Plan,
    progress: &Progress,
    rec: &R,
) -> Result<Counts, FairnessError> {
    run_from(&mut *reader, Vec::new(), 1, plan, progress, rec)
}

/// Runs the fairness pipeline over `reader`, whose content starts at physical line `first_line`, with
/// `carry` holding bytes already read past the header.
pub(crate) fn run_from<'p, R: Records<Tally<'p>>>(
    reader: &mut (dyn Read + Send + '_),
    carry: Vec<u8>,
    first_line: u64,
    plan: &'p Plan,
    progress: &Progress,
    rec: &R,
) -> Result<Counts, FairnessError> {
    let mut done = pipeline(reader, carry, first_line, &plan.file, progress, rec, &|| Tally::new(plan))?;
    let partials = std::mem::take(&mut done.sinks).into_iter().map(Tally::finish).collect();
    merge(plan, partials, &|p| Some(done.locate(p)))
}

/// What the workers counted, and where each block starts.
pub(crate) struct Done<S> {
    /// One sink per worker.
    pub sinks: Vec<S>,
    /// The first physical line of each block, up to the first block not processed.
    starts: Vec<u64>,
}

impl<S> Done<S> {
    /// The physical line of a position (0 when its block was never processed).
    pub fn line(&self, p: Pos) -> u64 {
        self.starts.get(p.major as usize).copied().unwrap_or(0) + p.minor
    }

    pub fn locate(&self, p: Pos) -> Location {
        Location::Line(self.line(p))
    }
}

/// Runs the pipeline: `new_sink` makes one sink per worker (on the worker's thread). A sink's records
/// stop when `process` says `stopped`; blocks after the first stopped one are not processed.
#[allow(clippy::too_many_arguments)]
pub(crate) fn pipeline<S: Send, R: Records<S>>(
    reader: &mut (dyn Read + Send + '_),
    carry: Vec<u8>,
    first_line: u64,
    file: &str,
    progress: &Progress,
    rec: &R,
    new_sink: &(dyn Fn() -> S + Sync),
) -> Result<Done<S>, FairnessError> {
    let first_error = AtomicU64::new(u64::MAX);
    let (work_tx, work_rx) = sync_channel::<(u64, Vec<u8>, usize, bool)>(2);
    let work_rx = Mutex::new(work_rx);
    let (free_tx, free_rx) = channel::<Vec<u8>>();
    let (read_result, outcomes) = std::thread::scope(|s| {
        let handles: Vec<_> = (0..WORKERS)
            .map(|_| {
                let free_tx = free_tx.clone();
                let (work_rx, first_error) = (&work_rx, &first_error);
                s.spawn(move || worker(work_rx, free_tx, rec, new_sink(), progress, first_error))
            })
            .collect();
        drop(free_tx);
        let r = read_loop(reader, carry, &work_tx, &free_rx, rec, file, progress, &first_error);
        drop(work_tx);
        let outcomes: Vec<_> = handles.into_iter().map(|h| h.join()).collect();
        (r, outcomes)
    });
    read_result?;
    if progress.cancelled() {
        return Err(FairnessError::cancelled(file));
    }
    let mut sinks = Vec::new();
    let mut lines: Vec<(u64, u64)> = Vec::new();
    for o in outcomes {
        let (p, l) = o.map_err(|_| FairnessError::io(file, "internal error: a counting thread failed"))?;
        sinks.push(p);
        lines.extend(l);
    }
    lines.sort_unstable();
    let mut starts = Vec::with_capacity(lines.len());
    let mut line = first_line;
    for (major, n) in &lines {
        // Blocks are contiguous up to the first unprocessed one (after a fail-fast stop).
        if *major as usize != starts.len() {
            break;
        }
        starts.push(line);
        line += n;
    }
    Ok(Done { sinks, starts })
}

fn worker<S, R: Records<S>>(
    rx: &Mutex<Receiver<(u64, Vec<u8>, usize, bool)>>,
    free: Sender<Vec<u8>>,
    rec: &R,
    mut sink: S,
    progress: &Progress,
    first_error: &AtomicU64,
) -> (S, Vec<(u64, u64)>) {
    let mut scratch = R::Scratch::default();
    let mut lines = Vec::new();
    loop {
        let msg = match rx.lock() {
            Ok(guard) => guard.recv(),
            Err(_) => break,
        };
        let Ok((major, buf, len, plain)) = msg else { break };
        if !progress.cancelled() && major <= first_error.load(Ordering::Relaxed) {
            let p = rec.process(&buf[..len], plain, major, &mut sink, &mut scratch);
            lines.push((major, p.lines));
            if p.stopped {
                first_error.fetch_min(major, Ordering::Relaxed);
            }
        }
        let _ = free.send(buf);
    }
    (sink, lines)
}

#[allow(clippy::too_many_arguments)]
fn read_loop<S, R: Records<S>>(
    reader: &mut (dyn Read + Send + '_),
    mut carry: Vec<u8>,
    work: &std::sync::mpsc::SyncSender<(u64, Vec<u8>, usize, bool)>,
    free: &Receiver<Vec<u8>>,
    rec: &R,
    file: &str,
    progress: &Progress,
    first_error: &AtomicU64,
) -> Result<(), FairnessError> {
    let mut allocated = 0;
    let mut spare: Option<Vec<u8>> = None;
    let mut major = 0u64;
    let mut total = 0u64;
    let mut want = FIRST_BLOCK;
    loop {
        if progress.cancelled() {
            return Err(FairnessError::cancelled(file));
        }
        if first_error.load(Ordering::Relaxed) != u64::MAX {
            return Ok(());
        }
        // Buffers stay at their full, initialized length from block to block (no zeroing per read);
        // the length of the content travels beside each.
        let mut buf = match spare.take() {
            Some(b) => b,
            None if allocated < BUFFERS => {
                allocated += 1;
                Vec::new()
            }
            None => match free.recv() {
                Ok(b) => b,
                Err(_) => return Ok(()),
            },
        };
        let start = carry.len();
        if buf.len() < start + want {
            buf.resize(start + want, 0);
        }
        buf[..start].copy_from_slice(&carry);
        carry.clear();
        let mut filled = start;
        while filled < start + want {
            match reader.read(&mut buf[filled..start + want]) {
                Ok(0) => break,
                Ok(n) => filled += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(FairnessError::io(file, format!("read error after {total} bytes of content: {e}"))),
            }
        }
        let n = filled - start;
        total += n as u64;
        if n < want {
            // The end of the input.
            if filled > 0 && work.send((major, buf, filled, false)).is_err() {
                return Ok(());
            }
            return Ok(());
        }
        let Cut { at: cut, plain } = rec.split_point(&buf[..filled]);
        if cut == 0 {
            let max = super::max_record_bytes();
            if filled >= max {
                return Err(FairnessError::input(
                    file,
                    None,
                    None,
                    format!(
                        "a record longer than {} MiB after {total} bytes (an unterminated quote? raise STEWARD_MAX_RECORD_MIB for longer records)",
                        max >> 20
                    ),
                ));
            }
            carry.extend_from_slice(&buf[..filled]);
            spare = Some(buf);
            continue;
        }
        carry.extend_from_slice(&buf[cut..filled]);
        want = (want * 2).min(BLOCK);
        if work.send((major, buf, cut, plain)).is_err() {
            return Ok(());
        }
        major += 1;
    }
}
