//! Time series for charts: raw points plus a multi-resolution min/max pyramid, so that a chart draws at
//! most about two points per pixel column whatever the length of the series (1,000,000 points draw like
//! 2,000). Level k holds min and max of consecutive buckets of 8^(k+1) raw points.

const FANOUT: usize = 8;

#[derive(Debug, Clone, Default)]
struct Level {
    min: Vec<f64>,
    max: Vec<f64>,
    /// Time of each bucket's first and last point: kept here so that decimation reads contiguous memory
    /// (looking them up in the raw times costs a cache miss per bucket).
    t_first: Vec<f64>,
    t_last: Vec<f64>,
}

/// A series with non-decreasing times (seconds) and values (NaN: no value, skipped by min/max).
#[derive(Debug, Clone, Default)]
pub struct Series {
    t: Vec<f64>,
    v: Vec<f64>,
    levels: Vec<Level>,
}

fn fold(a: (f64, f64), v: f64) -> (f64, f64) {
    if v.is_nan() { a } else { (a.0.min(v), a.1.max(v)) }
}

impl Series {
    pub fn new() -> Series {
        Series::default()
    }

    pub fn len(&self) -> usize {
        self.t.len()
    }

    pub fn is_empty(&self) -> bool {
        self.t.is_empty()
    }

    pub fn first_time(&self) -> Option<f64> {
        self.t.first().copied()
    }

    pub fn last(&self) -> Option<(f64, f64)> {
        Some((*self.t.last()?, *self.v.last()?))
    }

    /// The last point at or before `t` (for a read-out at a cursor time), None before the first point.
    pub fn at(&self, t: f64) -> Option<(f64, f64)> {
        let i = self.t.partition_point(|&x| x <= t);
        (i > 0).then(|| (self.t[i - 1], self.v[i - 1]))
    }

    /// The raw points (time, value).
    pub fn points(&self) -> impl Iterator<Item = (f64, f64)> + '_ {
        self.t.iter().copied().zip(self.v.iter().copied())
    }

    /// Appends a point. A point older than the last one is refused (returns false): series are fed in
    /// time order by scrapes and range queries.
    pub fn push(&mut self, t: f64, v: f64) -> bool {
        if !t.is_finite() || self.t.last().is_some_and(|&l| t < l) {
            return false;
        }
        self.t.push(t);
        self.v.push(v);
        let i = self.t.len() - 1;
        let mut size = 1usize;
        for k in 0.. {
            size *= FANOUT;
            if k == self.levels.len() {
                if self.t.len() <= size {
                    break;
                }
                self.levels.push(self.build_level(size));
                continue; // built from scratch, including this point
            }
            let level = &mut self.levels[k];
            let j = i / size;
            if j == level.min.len() {
                let (lo, hi) = fold((f64::INFINITY, f64::NEG_INFINITY), v);
                level.min.push(lo);
                level.max.push(hi);
                level.t_first.push(t);
                level.t_last.push(t);
            } else {
                let (lo, hi) = fold((level.min[j], level.max[j]), v);
                level.min[j] = lo;
                level.max[j] = hi;
                level.t_last[j] = t;
            }
        }
        true
    }

    fn build_level(&self, size: usize) -> Level {
        let mut l = Level::default();
        for (chunk, times) in self.v.chunks(size).zip(self.t.chunks(size)) {
            let (lo, hi) = chunk.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |a, &v| fold(a, v));
            l.min.push(lo);
            l.max.push(hi);
            l.t_first.push(times[0]);
            l.t_last.push(times[times.len() - 1]);
        }
        l
    }

    /// Points to draw the part of the series between `x0` and `x1` on `columns` pixel columns: the raw
    /// points when there are few, else per column its min and max (in time order within the column), plus
    /// the neighbouring point on each side so that lines run to the edges. Returns true when the points
    /// were decimated (about two per column), false when they are the raw points.
    pub fn decimate(&self, x0: f64, x1: f64, columns: usize, out: &mut Vec<[f64; 2]>) -> bool {
        out.clear();
        if self.t.is_empty() || !(x1 > x0) || columns == 0 {
            return false;
        }
        let i0 = self.t.partition_point(|&t| t < x0).saturating_sub(1);
        let i1 = (self.t.partition_point(|&t| t <= x1) + 1).min(self.t.len());
        let n = i1 - i0;
        if n <= 4 * columns {
            out.extend((i0..i1).filter(|&i| !self.v[i].is_nan()).map(|i| [self.t[i], self.v[i]]));
            return false;
        }
        // The coarsest level that still has at least one bucket per column.
        let mut k = None;
        let mut size = 1usize;
        for (lk, _) in self.levels.iter().enumerate() {
            if n / (size * FANOUT) >= columns {
                size *= FANOUT;
                k = Some(lk);
            } else {
                break;
            }
        }
        let per_x = columns as f64 / (x1 - x0);
        let mut cols: Vec<(f64, f64, f64, f64)> = vec![(f64::INFINITY, f64::NEG_INFINITY, 0.0, 0.0); columns];
        let mut put = |t: f64, lo: f64, hi: f64, t_lo: f64, t_hi: f64| {
            let c = ((((t - x0) * per_x).floor()).max(0.0) as usize).min(columns - 1);
            let e = &mut cols[c];
            if lo < e.0 {
                e.0 = lo;
                e.2 = t_lo;
            }
            if hi > e.1 {
                e.1 = hi;
                e.3 = t_hi;
            }
        };
        // Inner part from the level (buckets wholly inside [i0, i1)), edges from raw points.
        let (b0, b1) = match k {
            Some(_) => (i0.div_ceil(size), i1 / size),
            None => (0, 0),
        };
        let raw = |i: usize, put: &mut dyn FnMut(f64, f64, f64, f64, f64)| {
            let v = self.v[i];
            if !v.is_nan() && self.t[i] >= x0 && self.t[i] <= x1 {
                put(self.t[i], v, v, self.t[i], self.t[i]);
            }
        };
        if let (Some(k), true) = (k, b1 > b0) {
            for i in i0..b0 * size {
                raw(i, &mut put);
            }
            let level = &self.levels[k];
            for b in b0..b1 {
                let (lo, hi) = (level.min[b], level.max[b]);
                if lo.is_finite() || hi.is_finite() {
                    let (ta, tb) = (level.t_first[b], level.t_last[b]);
                    let mid = 0.5 * (ta + tb);
                    put(mid, lo, hi, ta, tb);
                }
            }
            for i in b1 * size..i1 {
                raw(i, &mut put);
            }
        } else {
            for i in i0..i1 {
                raw(i, &mut put);
            }
        }
        // The outermost points (outside [x0, x1]) keep their own place so that lines reach the edges.
        let first = [self.t[i0], self.v[i0]];
        let last = [self.t[i1 - 1], self.v[i1 - 1]];
        if self.t[i0] < x0 && !first[1].is_nan() {
            out.push(first);
        }
        for (lo, hi, t_lo, t_hi) in cols {
            if lo > hi {
                continue;
            }
            if t_lo <= t_hi {
                out.push([t_lo.max(x0), lo]);
                out.push([t_hi.max(x0), hi]);
            } else {
                out.push([t_hi.max(x0), hi]);
                out.push([t_lo.max(x0), lo]);
            }
        }
        if self.t[i1 - 1] > x1 && !last[1].is_nan() {
            out.push(last);
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn noisy(n: usize) -> Series {
        let mut s = Series::new();
        let mut x: u64 = 12345;
        for i in 0..n {
            x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            let v = (i as f64 / 1000.0).sin() + ((x >> 33) as f64 / (1u64 << 31) as f64 - 0.5);
            assert!(s.push(i as f64, v));
        }
        s
    }

    #[test]
    fn at_reads_the_last_point_at_or_before_a_time() {
        let mut s = Series::new();
        for (t, v) in [(1.0, 10.0), (2.0, 20.0), (4.0, 40.0)] {
            s.push(t, v);
        }
        assert_eq!(s.at(0.5), None);
        assert_eq!(s.at(2.0), Some((2.0, 20.0)));
        assert_eq!(s.at(3.9), Some((2.0, 20.0)));
        assert_eq!(s.at(9.0), Some((4.0, 40.0)));
    }

    #[test]
    fn levels_hold_the_min_and_max_of_their_buckets() {
        let s = noisy(10_000);
        assert_eq!(s.levels.len(), 4); // 8, 64, 512, 4096 < 10,000
        for (k, l) in s.levels.iter().enumerate() {
            let size = FANOUT.pow(k as u32 + 1);
            for (b, chunk) in s.v.chunks(size).enumerate() {
                let lo = chunk.iter().cloned().fold(f64::INFINITY, f64::min);
                let hi = chunk.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
                assert_eq!((l.min[b], l.max[b]), (lo, hi), "level {k} bucket {b}");
                let times = &s.t[b * size..((b + 1) * size).min(s.t.len())];
                assert_eq!((l.t_first[b], l.t_last[b]), (times[0], times[times.len() - 1]), "level {k} bucket {b} times");
            }
        }
    }

    #[test]
    fn decimation_keeps_the_envelope_and_bounds_the_points() {
        let s = noisy(1_000_000);
        let mut out = Vec::new();
        for (x0, x1, cols) in [(0.0, 999_999.0, 1000), (250_000.5, 260_000.0, 800), (10.0, 5000.0, 300)] {
            s.decimate(x0, x1, cols, &mut out);
            assert!(out.len() <= 2 * cols + 2, "{} points for {cols} columns", out.len());
            // The extremes inside the range are drawn exactly.
            let inside = s.points().filter(|(t, _)| *t >= x0 && *t <= x1);
            let (lo, hi) = inside.fold((f64::INFINITY, f64::NEG_INFINITY), |a, (_, v)| (a.0.min(v), a.1.max(v)));
            let drawn = out.iter().filter(|p| p[0] >= x0 && p[0] <= x1);
            let (dlo, dhi) = drawn.fold((f64::INFINITY, f64::NEG_INFINITY), |a, p| (a.0.min(p[1]), a.1.max(p[1])));
            assert_eq!((dlo, dhi), (lo, hi), "range {x0}..{x1}");
            // Every drawn value is a value of the series, in time order.
            assert!(out.windows(2).all(|w| w[0][0] <= w[1][0]));
            // Per column, the drawn max is the true max of the raw points in that column, up to one
            // bucket of displacement at column edges: check the inner columns' maxima are real maxima.
            let width = (x1 - x0) / cols as f64;
            let c = cols / 2;
            let (a, b) = (x0 + c as f64 * width, x0 + (c + 1) as f64 * width);
            let col_max = s.points().filter(|(t, _)| *t >= a && *t < b).map(|(_, v)| v).fold(f64::NEG_INFINITY, f64::max);
            let near = out.iter().filter(|p| p[0] >= a - width && p[0] < b + width).map(|p| p[1]).fold(f64::NEG_INFINITY, f64::max);
            assert!(near >= col_max, "column {c}: drawn {near} < true {col_max}");
        }
    }

    #[test]
    fn few_points_are_drawn_as_they_are_and_nan_is_a_gap() {
        let mut s = Series::new();
        for (t, v) in [(0.0, 1.0), (1.0, f64::NAN), (2.0, 3.0)] {
            s.push(t, v);
        }
        assert!(!s.push(1.5, 2.0), "an older point is refused");
        let mut out = Vec::new();
        s.decimate(0.0, 2.0, 100, &mut out);
        assert_eq!(out, vec![[0.0, 1.0], [2.0, 3.0]]);
    }
}
