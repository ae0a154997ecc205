//! The pipeline for line-oriented logs (CSV, JSON Lines): one thread reads 4 MB blocks and cuts them at
//! a record boundary; two workers count whole blocks into their own `Tally`; the tallies are merged at
//! the end. Memory is bounded by a pool of four blocks. Line numbers are resolved after the fact from
//! each block's line count, so workers never wait for each other.

use std::io::Read;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, Sender, channel, sync_channel};

use super::counts::{Counts, merge};
use super::error::{FairnessError, Location};
use super::plan::Plan;
use super::tally::{Partial, Pos, Tally};
use super::Progress;

pub(crate) const BLOCK: usize = 4 << 20;
const BUFFERS: usize = 4;
const WORKERS: usize = 2;

/// What a block held.
pub(crate) struct Processed {
    /// Physical lines in the block (newlines, plus one for a last line without a newline).
    pub lines: u64,
    /// The tally asked to stop (a bad row without --skip-bad-rows).
    pub stopped: bool,
}

/// A line-oriented record format.
pub(crate) trait Records: Sync {
    type Scratch: Default;
    /// Length of the longest prefix of `buf` that ends just after a record (0 when there is none).
    fn split_point(&self, buf: &[u8]) -> usize;
    /// Counts the records of one block. Positions are `Pos { major: block, minor: line in block }`.
    fn process(&self, block: &[u8], major: u64, tally: &mut Tally<'_>, scratch: &mut Self::Scratch) -> Processed;
}

/// Runs the pipeline over a reader without header (JSON Lines).
pub(crate) fn run<R: Records>(
    mut reader: Box<dyn Read + Send + '_>,
    plan: &Plan,
    progress: &Progress,
    rec: &R,
) -> Result<Counts, FairnessError> {
    run_from(&mut *reader, Vec::new(), 1, plan, progress, rec)
}

/// Runs the pipeline over `reader`, whose content starts at physical line `first_line`, with `carry`
/// holding bytes already read past the header.
pub(crate) fn run_from<R: Records>(
    reader: &mut (dyn Read + Send + '_),
    carry: Vec<u8>,
    first_line: u64,
    plan: &Plan,
    progress: &Progress,
    rec: &R,
) -> Result<Counts, FairnessError> {
    let first_error = AtomicU64::new(u64::MAX);
    let (work_tx, work_rx) = sync_channel::<(u64, Vec<u8>)>(2);
    let work_rx = Mutex::new(work_rx);
    let (free_tx, free_rx) = channel::<Vec<u8>>();
    let (read_result, outcomes) = std::thread::scope(|s| {
        let handles: Vec<_> = (0..WORKERS)
            .map(|_| {
                let free_tx = free_tx.clone();
                let (work_rx, first_error) = (&work_rx, &first_error);
                s.spawn(move || worker(work_rx, free_tx, rec, plan, progress, first_error))
            })
            .collect();
        drop(free_tx);
        let r = read_loop(reader, carry, &work_tx, &free_rx, rec, plan, progress, &first_error);
        drop(work_tx);
        let outcomes: Vec<_> = handles.into_iter().map(|h| h.join()).collect();
        (r, outcomes)
    });
    read_result?;
    if progress.cancelled() {
        return Err(FairnessError::cancelled(&plan.file));
    }
    let mut partials = Vec::new();
    let mut lines: Vec<(u64, u64)> = Vec::new();
    for o in outcomes {
        let (p, l) = o.map_err(|_| FairnessError::io(&plan.file, "internal error: a counting thread failed"))?;
        partials.push(p);
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
    let locate = |p: Pos| Location::Line(starts.get(p.major as usize).copied().unwrap_or(0) + p.minor);
    merge(plan, partials, &locate)
}

fn worker<R: Records>(
    rx: &Mutex<Receiver<(u64, Vec<u8>)>>,
    free: Sender<Vec<u8>>,
    rec: &R,
    plan: &Plan,
    progress: &Progress,
    first_error: &AtomicU64,
) -> (Partial, Vec<(u64, u64)>) {
    let mut tally = Tally::new(plan);
    let mut scratch = R::Scratch::default();
    let mut lines = Vec::new();
    loop {
        let msg = match rx.lock() {
            Ok(guard) => guard.recv(),
            Err(_) => break,
        };
        let Ok((major, buf)) = msg else { break };
        if !progress.cancelled() && major <= first_error.load(Ordering::Relaxed) {
            let p = rec.process(&buf, major, &mut tally, &mut scratch);
            lines.push((major, p.lines));
            if p.stopped {
                first_error.fetch_min(major, Ordering::Relaxed);
            }
        }
        let _ = free.send(buf);
    }
    (tally.finish(), lines)
}

#[allow(clippy::too_many_arguments)]
fn read_loop<R: Records>(
    reader: &mut (dyn Read + Send + '_),
    mut carry: Vec<u8>,
    work: &std::sync::mpsc::SyncSender<(u64, Vec<u8>)>,
    free: &Receiver<Vec<u8>>,
    rec: &R,
    plan: &Plan,
    progress: &Progress,
    first_error: &AtomicU64,
) -> Result<(), FairnessError> {
    let mut allocated = 0;
    let mut spare: Option<Vec<u8>> = None;
    let mut major = 0u64;
    let mut total = 0u64;
    loop {
        if progress.cancelled() {
            return Err(FairnessError::cancelled(&plan.file));
        }
        if first_error.load(Ordering::Relaxed) != u64::MAX {
            return Ok(());
        }
        let mut buf = match spare.take() {
            Some(b) => b,
            None if allocated < BUFFERS => {
                allocated += 1;
                Vec::with_capacity(BLOCK + (BLOCK >> 4))
            }
            None => match free.recv() {
                Ok(b) => b,
                Err(_) => return Ok(()),
            },
        };
        buf.clear();
        buf.extend_from_slice(&carry);
        carry.clear();
        let want = BLOCK as u64;
        let n = Read::take(&mut *reader, want)
            .read_to_end(&mut buf)
            .map_err(|e| FairnessError::io(&plan.file, format!("read error after {total} bytes of content: {e}")))?;
        total += n as u64;
        let eof = (n as u64) < want;
        if eof {
            if !buf.is_empty() && work.send((major, buf)).is_err() {
                return Ok(());
            }
            return Ok(());
        }
        let cut = rec.split_point(&buf);
        if cut == 0 {
            let max = super::max_record_bytes();
            if buf.len() >= max {
                return Err(FairnessError::input(
                    &plan.file,
                    None,
                    None,
                    format!(
                        "a record longer than {} MiB after {total} bytes (an unterminated quote? raise STEWARD_MAX_RECORD_MIB for longer records)",
                        max >> 20
                    ),
                ));
            }
            carry.extend_from_slice(&buf);
            buf.clear();
            spare = Some(buf);
            continue;
        }
        carry.extend_from_slice(&buf[cut..]);
        buf.truncate(cut);
        if work.send((major, buf)).is_err() {
            return Ok(());
        }
        major += 1;
    }
}
