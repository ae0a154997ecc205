//! The drift engine's counting sink: each chosen column's values counted per UTC day (or, for a
//! reference file, in one undated slot).
//!
//! Values are interned per column into dense ids ([`Dict`]) and counted in one vector per (column,
//! day), so a cell costs one lookup of a word (values of up to 7 bytes) or of a short byte string;
//! plain decimal integers below 65,536 (ages, hours, counts) skip the lookup and are counted by value. A
//! column whose distinct values pass [`DICT_CAP`], or a sink whose count vectors pass
//! [`CELL_BUDGET`] slots, goes over to counting that column's text directly per day ([`Values`], with
//! its own cap and rounding), so memory stays bounded whatever the column holds.

use std::collections::BTreeMap;

use super::drift::{MAX_DAYS, Values};
use super::rows::is_missing;
use super::scan::{Cells, Dict, RowFail, Sink, same_bytes, text};
use crate::fairness::{Field, Window, seconds, window_index};

/// Distinct values interned per column and worker before the column is counted as text.
pub const DICT_CAP: usize = 1 << 16;
/// Count slots (8 bytes each) per worker over every (column, day): 32 MiB.
pub const CELL_BUDGET: usize = 4 << 20;

#[derive(Clone, Default)]
struct Column {
    dict: Dict,
    /// Per day slot, counts by id (while interning).
    ids: Vec<Vec<u64>>,
    /// Per day slot, counts of small integers written plainly (`0`, `17`, `3650`) by value.
    ints: Vec<Vec<u64>>,
    /// Per day slot, counts by text (after going over to text).
    text: Vec<Values>,
    as_text: bool,
}

/// Counts of one reading (one worker's share of a CSV log, or a whole row-at-a-time log).
#[derive(Clone)]
pub(super) struct DriftCounts {
    /// (file index, name) of each chosen column.
    columns: Vec<(usize, String)>,
    /// The time column's index and name (None: every row goes to the undated slot).
    time: Option<(usize, String)>,
    state: Vec<Column>,
    /// Day of each slot, and its rows.
    days: Vec<(Option<i64>, u64)>,
    last_time: Vec<u8>,
    last_slot: usize,
    pub(super) no_time: u64,
    slots_used: usize,
}

impl DriftCounts {
    pub fn new(columns: Vec<(usize, String)>, time: Option<(usize, String)>) -> DriftCounts {
        let state = vec![Column::default(); columns.len()];
        DriftCounts { columns, time, state, days: Vec::new(), last_time: Vec::new(), last_slot: usize::MAX, no_time: 0, slots_used: 0 }
    }

    fn slot(&mut self, day: Option<i64>) -> Result<usize, RowFail> {
        if let Some(i) = self.days.iter().position(|d| d.0 == day) {
            return Ok(i);
        }
        if self.days.len() >= MAX_DAYS {
            return Err(RowFail::new(None, format!("more than {MAX_DAYS} days in the logs")));
        }
        self.days.push((day, 0));
        for c in &mut self.state {
            c.ids.push(Vec::new());
            c.ints.push(Vec::new());
            c.text.push(Values::default());
        }
        Ok(self.days.len() - 1)
    }

    /// Column `k` goes over to counting text per day.
    fn to_text(&mut self, k: usize) {
        let c = &mut self.state[k];
        for (ids, values) in c.ids.iter_mut().zip(&mut c.text) {
            self.slots_used -= ids.len();
            for (id, n) in ids.iter().enumerate().filter(|(_, n)| **n > 0) {
                values.add_n(c.dict.name(id as u32), *n);
            }
            *ids = Vec::new();
        }
        for (ints, values) in c.ints.iter_mut().zip(&mut c.text) {
            self.slots_used -= ints.len();
            for (v, n) in ints.iter().enumerate().filter(|(_, n)| **n > 0) {
                values.add_n(&v.to_string(), *n);
            }
            *ints = Vec::new();
        }
        c.dict = Dict::default();
        c.as_text = true;
    }

    /// The days counted (None: a reference file's undated rows).
    pub fn days(&self) -> impl Iterator<Item = Option<i64>> + '_ {
        self.days.iter().map(|d| d.0)
    }

    /// Adds these counts to `out` by window: `label` names the window of each day (None: the
    /// reference). Days are summed while still counts by id, so each value's text is handled once per
    /// window, not once per day.
    pub fn into_windows(mut self, label: &dyn Fn(Option<i64>) -> Option<String>, out: &mut Windows) {
        let mut groups: BTreeMap<Option<String>, Vec<usize>> = BTreeMap::new();
        for (slot, (day, _)) in self.days.iter().enumerate() {
            groups.entry(label(*day)).or_default().push(slot);
        }
        for (window, slots) in groups {
            let rows: u64 = slots.iter().map(|s| self.days[*s].1).sum();
            let values: Vec<Values> = self.state.iter_mut().map(|c| window_values(c, &slots)).collect();
            add_window(out, window, rows, values);
        }
    }
}

/// Per window (None: the reference): rows, and per column its values.
pub(super) type Windows = BTreeMap<Option<String>, (u64, Vec<Values>)>;

/// Adds `rows` and each column's `values` to `window` in `out` (merged, with the cap, when it is there).
pub(super) fn add_window(out: &mut Windows, window: Option<String>, rows: u64, values: Vec<Values>) {
    match out.get_mut(&window) {
        None => {
            out.insert(window, (rows, values));
        }
        Some((n, old)) => {
            *n += rows;
            for (a, b) in old.iter_mut().zip(&values) {
                a.merge(b);
            }
        }
    }
}

/// One column's counts over some day slots, as text.
fn window_values(c: &mut Column, slots: &[usize]) -> Values {
    let mut v = Values::default();
    for &s in slots {
        if let Some(t) = c.text.get_mut(s) {
            let t = std::mem::take(t);
            if v.counts.is_empty() && v.missing == 0 && !v.rounded && !v.overflow {
                v = t;
            } else {
                v.merge(&t);
            }
        }
    }
    if c.as_text {
        return v;
    }
    let sum = |per_day: &[Vec<u64>]| {
        let mut total: Vec<u64> = Vec::new();
        for &s in slots {
            if let Some(day) = per_day.get(s) {
                if total.len() < day.len() {
                    total.resize(day.len(), 0);
                }
                for (t, n) in total.iter_mut().zip(day) {
                    *t += n;
                }
            }
        }
        total
    };
    for (id, n) in sum(&c.ids).into_iter().enumerate().filter(|(_, n)| *n > 0) {
        v.add_n(c.dict.name(id as u32), n);
    }
    for (x, n) in sum(&c.ints).into_iter().enumerate().filter(|(_, n)| *n > 0) {
        v.add_n(&x.to_string(), n);
    }
    v
}

impl Sink for DriftCounts {
    fn row<C: Cells + ?Sized>(&mut self, cells: &C) -> Result<(), RowFail> {
        let slot = match self.time.as_ref().map(|t| t.0) {
            None if self.last_slot != usize::MAX => self.last_slot,
            None => {
                self.last_slot = self.slot(None)?;
                self.last_slot
            }
            Some(t) => {
                let cell = cells.cell(t);
                if self.last_slot != usize::MAX && same_bytes(cell, &self.last_time) {
                    self.last_slot
                } else {
                    let name = self.time.as_ref().map_or("", |t| t.1.as_str());
                    if is_missing(text(cell, name)?) {
                        self.no_time += 1;
                        return Ok(());
                    }
                    let secs = seconds(&Field::Text(cell)).map_err(|m| RowFail::new(Some(name), m))?;
                    let slot = self.slot(Some(window_index(secs, Window::Day)))?;
                    self.last_time.clear();
                    self.last_time.extend_from_slice(cell);
                    self.last_slot = slot;
                    slot
                }
            }
        };
        self.days[slot].1 += 1;
        for k in 0..self.columns.len() {
            let (i, ref name) = self.columns[k];
            let (cell, word) = cells.cell_word(i);
            let c = &mut self.state[k];
            if c.as_text {
                c.text[slot].add(text(cell, name)?);
                continue;
            }
            if let Some(v) = small_int(cell) {
                let counts = &mut c.ints[slot];
                if let Some(n) = counts.get_mut(v) {
                    *n += 1;
                    continue;
                }
                self.slots_used += v + 1 - counts.len();
                counts.resize(v + 1, 0);
                counts[v] += 1;
                if self.slots_used > CELL_BUDGET {
                    self.to_text(k);
                }
                continue;
            }
            let Some(id) = c.dict.get_word(cell, word) else {
                return Err(RowFail::new(Some(name), "not UTF-8 text"));
            };
            let counts = &mut c.ids[slot];
            if let Some(n) = counts.get_mut(id as usize) {
                *n += 1;
                continue;
            }
            let grow = c.dict.len() - counts.len();
            counts.resize(c.dict.len(), 0);
            counts[id as usize] += 1;
            self.slots_used += grow;
            if c.dict.len() > DICT_CAP || self.slots_used > CELL_BUDGET {
                self.to_text(k);
            }
        }
        Ok(())
    }
}

/// Values below this, written as plain decimal integers, are counted by value (no interning).
const SMALL_INT: usize = 1 << 16;

/// The value of a cell that is a plain decimal integer below [`SMALL_INT`] (digits only, no sign, no
/// leading zero but `0` itself), so that its text is exactly `value.to_string()`.
#[inline]
fn small_int(c: &[u8]) -> Option<usize> {
    if c.is_empty() || c.len() > 5 || (c[0] == b'0' && c.len() > 1) {
        return None;
    }
    let mut v = 0usize;
    for &b in c {
        let d = b.wrapping_sub(b'0');
        if d > 9 {
            return None;
        }
        v = v * 10 + d as usize;
    }
    (v < SMALL_INT).then_some(v)
}


#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_integers_are_exactly_their_text() {
        for (c, want) in [("0", Some(0)), ("7", Some(7)), ("65535", Some(65535)), ("65536", None), ("007", None), ("-1", None), ("1.0", None), ("", None), ("123456", None)] {
            assert_eq!(small_int(c.as_bytes()), want, "{c}");
            if let Some(v) = want {
                assert_eq!(v.to_string(), c);
            }
        }
    }
}
