//! One worker's counting: rows in, confusion counts per (group combination, version, window) out.
//! Values are interned per worker (bytes -> small index), so counting a row allocates nothing; the
//! indices are turned back into strings once, when the worker hands over its `Partial`.

use super::error::{RowError, show_value};
use super::intern::{FxMap, Interner, Refused};
use super::plan::{DecisionRule, LabelRule, MAX_ROLES, Plan};
use super::timeparse::{seconds, window_index};
use super::values::{BINS, Field, binary, identity, score_bin};

/// Position of a row in the input, in file order: (block, line in block) for text, (row group, row)
/// for Parquet. The reader turns it into a `Location`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Default)]
pub(crate) struct Pos {
    pub major: u64,
    pub minor: u64,
}

/// A row as a reader hands it over: cells in the plan's role order.
pub(crate) struct Row<'a> {
    pub cells: [Field<'a>; MAX_ROLES],
}

impl<'a> Row<'a> {
    pub fn new() -> Row<'a> {
        Row { cells: [Field::Null; MAX_ROLES] }
    }
}

/// Confusion counts indexed by label slot (0 positive, 1 and 2 the first two other values this worker
/// saw) times decision (0 negative, 1 positive).
pub(crate) type SlotCounts = [u64; 6];
pub(crate) type SlotHist = [[u64; BINS]; 3];

/// A non-positive label value as first seen by this worker.
#[derive(Clone, Debug)]
pub(crate) struct SlotValue {
    pub identity: Vec<u8>,
    pub shown: String,
    pub first: Pos,
}

/// One cell as a worker hands it over: group values, version, window, counts.
pub(crate) type PartialCell = (Vec<String>, Option<String>, Option<i64>, SlotCounts);

/// What a worker hands over: everything as strings, ready to merge.
pub(crate) struct Partial {
    pub cells: Vec<PartialCell>,
    pub hist: Vec<(Vec<String>, SlotHist)>,
    pub slots: Vec<SlotValue>,
    pub skipped: u64,
    pub examples: Vec<(Pos, RowError)>,
    pub error: Option<(Pos, RowError)>,
}

/// How many skipped-row examples are kept.
pub(crate) const EXAMPLES: usize = 5;

pub(crate) struct Tally<'p> {
    plan: &'p Plan,
    groups: Vec<Interner>,
    versions: Interner,
    windows: FxMap<i64, u32>,
    window_keys: Vec<i64>,
    cells: FxMap<u128, u32>,
    cell_keys: Vec<(u32, u32, u32)>,
    counts: Vec<SlotCounts>,
    combos: FxMap<u64, u32>,
    combo_keys: Vec<u64>,
    hist: Vec<SlotHist>,
    label_cache: Vec<(Vec<u8>, u8)>,
    slots: Vec<SlotValue>,
    decision_cache: Vec<(Vec<u8>, bool)>,
    pub skipped: u64,
    pub examples: Vec<(Pos, RowError)>,
    pub error: Option<(Pos, RowError)>,
}

impl<'p> Tally<'p> {
    pub fn new(plan: &'p Plan) -> Tally<'p> {
        Tally {
            plan,
            groups: (0..plan.n_groups).map(|_| Interner::new(plan.encoding)).collect(),
            versions: Interner::new(plan.encoding),
            windows: FxMap::default(),
            window_keys: Vec::new(),
            cells: FxMap::default(),
            cell_keys: Vec::new(),
            counts: Vec::new(),
            combos: FxMap::default(),
            combo_keys: Vec::new(),
            hist: Vec::new(),
            label_cache: Vec::new(),
            slots: Vec::new(),
            decision_cache: Vec::new(),
            skipped: 0,
            examples: Vec::new(),
            error: None,
        }
    }

    /// Counts a row, or records why it cannot be counted. Returns false when reading must stop
    /// (a bad row without --skip-bad-rows).
    #[inline]
    pub fn push(&mut self, row: &Row<'_>, pos: Pos) -> bool {
        match self.count(row, pos, 1, None) {
            Ok(()) => true,
            Err(e) => self.bad_rows(pos, e, 1),
        }
    }

    /// Counts `n` identical rows at once (an aggregate row from a SQL engine, see `pushdown`).
    /// `scored`: for a score log whose engine already placed the score, its (bin, positive decision);
    /// the decision cell is then not read.
    pub fn push_many(&mut self, row: &Row<'_>, pos: Pos, n: u64, scored: Option<(usize, bool)>) -> bool {
        match self.count(row, pos, n, scored) {
            Ok(()) => true,
            Err(e) => self.bad_rows(pos, e, n),
        }
    }

    /// Records a bad row (also for readers that find a problem before building a `Row`).
    pub fn bad_row(&mut self, pos: Pos, e: RowError) -> bool {
        self.bad_rows(pos, e, 1)
    }

    fn bad_rows(&mut self, pos: Pos, e: RowError, n: u64) -> bool {
        if self.plan.skip_bad_rows {
            self.skipped += n;
            if self.examples.len() < EXAMPLES {
                self.examples.push((pos, e));
            }
            true
        } else {
            if self.error.as_ref().is_none_or(|(p, _)| pos < *p) {
                self.error = Some((pos, e));
            }
            false
        }
    }

    fn col(&self, i: usize) -> Option<&str> {
        self.plan.columns.get(i).map(String::as_str)
    }

    #[inline(always)]
    fn count(&mut self, row: &Row<'_>, pos: Pos, n: u64, scored: Option<(usize, bool)>) -> Result<(), RowError> {
        let plan = self.plan;
        let mut combo: u64 = 0;
        let mut buf = [0u8; 48];
        for g in 0..plan.n_groups {
            let f = &row.cells[g];
            if f.is_missing() {
                return Err(RowError::new(self.col(g), "missing group value"));
            }
            let bytes = match f {
                Field::Text(t) => t,
                other => other.text(&mut buf),
            };
            let idx = self.groups[g].get(bytes).map_err(|e| refused(self.col(g), e, bytes))?;
            combo |= (idx as u64) << (16 * g);
        }
        let di = plan.decision_index();
        let dec = &row.cells[di];
        let mut bin = 0usize;
        let predicted = match &plan.decision {
            _ if dec.is_missing() => return Err(RowError::new(self.col(di), "missing value")),
            DecisionRule::Score(..) if scored.is_some() => {
                let (b, p) = scored.unwrap_or_default();
                bin = b.min(BINS - 1);
                p
            }
            DecisionRule::Binary => binary(dec).ok_or_else(|| {
                RowError::new(
                    self.col(di),
                    format!("prediction {} is not 0 or 1 (give --positive-prediction)", show(dec)),
                )
            })?,
            DecisionRule::Positive(set) => {
                let mut buf = [0u8; 48];
                let raw = dec.text(&mut buf);
                match self.decision_cache.iter().find(|(r, _)| r.as_slice() == raw) {
                    Some((_, p)) => *p,
                    None => {
                        let p = set.iter().any(|w| w.matches(dec));
                        if self.decision_cache.len() < 16 {
                            self.decision_cache.push((raw.to_vec(), p));
                        }
                        p
                    }
                }
            }
            DecisionRule::Score(threshold, strict) => {
                let s = dec.number().filter(|s| s.is_finite()).ok_or_else(|| {
                    RowError::new(self.col(di), format!("score {} is not a finite number", show(dec)))
                })?;
                bin = score_bin(s, *strict);
                if *strict { s > *threshold } else { s >= *threshold }
            }
        };
        let window = match plan.time {
            None => 0,
            Some(ti) => {
                let secs = seconds(&row.cells[ti])
                    .map_err(|m| RowError::new(self.col(ti), format!("{}: {m}", show(&row.cells[ti]))))?;
                let w = window_index(secs, plan.window);
                match self.windows.get(&w) {
                    Some(&i) => i,
                    None => {
                        let i = self.window_keys.len() as u32;
                        self.window_keys.push(w);
                        self.windows.insert(w, i);
                        i
                    }
                }
            }
        };
        let version = match plan.version {
            None => 0,
            Some(vi) => {
                let f = &row.cells[vi];
                if f.is_missing() {
                    return Err(RowError::new(self.col(vi), "missing model version"));
                }
                let mut buf = [0u8; 48];
                let bytes = f.text(&mut buf);
                self.versions.get(bytes).map_err(|e| refused(self.col(vi), e, bytes))?
            }
        };
        // The label last: classifying it may record a new label value, which must come from a counted row.
        let slot = self.label_slot(&row.cells[plan.label_index()], pos)? as usize;

        let key = combo as u128 | (version as u128) << 64 | (window as u128) << 80;
        let cell = match self.cells.get(&key) {
            Some(&c) => c as usize,
            None => self.new_cell(key, combo, version, window),
        };
        self.counts[cell][slot * 2 + predicted as usize] += n;
        if plan.is_score() {
            let c = self.cell_keys[cell].0 as usize;
            self.hist[c][slot][bin] += n;
        }
        Ok(())
    }

    fn new_cell(&mut self, key: u128, combo: u64, version: u32, window: u32) -> usize {
        let c = match self.combos.get(&combo) {
            Some(&c) => c,
            None => {
                let c = self.combo_keys.len() as u32;
                self.combo_keys.push(combo);
                self.combos.insert(combo, c);
                if self.plan.is_score() {
                    self.hist.push([[0; BINS]; 3]);
                }
                c
            }
        };
        let i = self.counts.len();
        self.counts.push([0; 6]);
        self.cell_keys.push((c, version, window));
        self.cells.insert(key, i as u32);
        i
    }

    fn label_slot(&mut self, f: &Field<'_>, pos: Pos) -> Result<u8, RowError> {
        let li = self.plan.label_index();
        if f.is_missing() {
            return Err(RowError::new(self.col(li), "missing label"));
        }
        let plan = self.plan;
        let wanted = match &plan.label {
            LabelRule::Binary => {
                return match binary(f) {
                    Some(true) => Ok(0),
                    Some(false) => Ok(1),
                    None => Err(RowError::new(
                        self.col(li),
                        format!("label {} is not binary (0/1, true/false); give --positive-label", show(f)),
                    )),
                };
            }
            LabelRule::Positive(w) => w,
        };
        let mut buf = [0u8; 48];
        let raw = f.text(&mut buf);
        if let Some((_, s)) = self.label_cache.iter().find(|(r, _)| r.as_slice() == raw) {
            return Ok(*s);
        }
        let slot = if wanted.matches(f) {
            0
        } else {
            let id = identity(f);
            match self.slots.iter().position(|s| s.identity == id) {
                Some(i) => i as u8 + 1,
                None if self.slots.len() < 2 => {
                    self.slots.push(SlotValue { identity: id, shown: show(f), first: pos });
                    self.slots.len() as u8
                }
                None => {
                    let seen: Vec<&str> = self.slots.iter().map(|s| s.shown.as_str()).collect();
                    return Err(RowError::new(
                        self.col(li),
                        format!(
                            "label {} is a third distinct value (besides the positive '{}' and {}); labels must be binary",
                            show(f),
                            String::from_utf8_lossy(&wanted.text),
                            seen.join(" and ")
                        ),
                    ));
                }
            }
        };
        if self.label_cache.len() < 16 {
            self.label_cache.push((raw.to_vec(), slot));
        }
        Ok(slot)
    }

    /// Hands over the counts with values as strings.
    pub fn finish(self) -> Partial {
        let names = |combo: u64| -> Vec<String> {
            (0..self.plan.n_groups).map(|g| self.groups[g].name(((combo >> (16 * g)) & 0xFFFF) as u32)).collect()
        };
        let cells = self
            .cell_keys
            .iter()
            .zip(&self.counts)
            .map(|(&(c, v, w), counts)| {
                let version = self.plan.version.map(|_| self.versions.name(v));
                let window = self.plan.time.map(|_| self.window_keys.get(w as usize).copied().unwrap_or_default());
                (names(self.combo_keys[c as usize]), version, window, *counts)
            })
            .collect();
        let hist = self.combo_keys.iter().zip(self.hist).map(|(&c, h)| (names(c), h)).collect();
        Partial {
            cells,
            hist,
            slots: self.slots,
            skipped: self.skipped,
            examples: self.examples,
            error: self.error,
        }
    }
}

/// The row error for a value the interner refused.
fn refused(column: Option<&str>, e: Refused, bytes: &[u8]) -> RowError {
    match e {
        Refused::TooMany => RowError::new(column, "more than 65535 distinct values; is this really a group column?"),
        Refused::NotText => RowError::new(
            column,
            format!(
                "value {} is not UTF-8 text; give the file's encoding (--encoding latin-1) so that distinct values stay distinct",
                show_value(bytes)
            ),
        ),
    }
}

fn show(f: &Field<'_>) -> String {
    let mut buf = [0u8; 48];
    show_value(f.text(&mut buf))
}
