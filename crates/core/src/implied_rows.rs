//! Rows of a polytope {a x <= b} ∩ [lower, upper] that a few other rows already imply (local
//! redundancy), found without any LP over the whole polytope.
//!
//! The regions of convolutional networks have one row per ReLU element, but a row of the first
//! convolution reads only its window of the image (4 of 784 pixels in the MNIST conv net of the
//! VNN-COMP, 48 of 3,072 in the CIFAR one), and the rows of neighbouring windows constrain the
//! same few pixels. A row that the box, or the rows over the same pixels, already imply is implied
//! by the whole region: dropping it leaves the set unchanged (up to `tol`), and the LPs over the
//! region, the support networks and the certificates all work with the smaller set. Measured on
//! the MNIST conv net: 23,328 rows → about 2,100, found in a few hundred ms, and the region LPs
//! ~10–30× faster.
//!
//! Three tests, cheapest first, each sound on its own (a row is dropped only when a *subset* of
//! the rows still kept, with the box, provably implies it):
//!
//! 1. **the box**: max over the box of a_i·x (interval arithmetic with a rounding guard) <= b_i;
//! 2. **the same window**: rows with the same set of non-zero columns S, an LP over the |S|
//!    variables of S against the other rows of the group still kept;
//! 3. **the neighbourhood**: the union U of the windows that share a column with the row, an LP
//!    over the |U| variables against the kept rows whose columns lie in U.
//!
//! Tests 2 and 3 first look for a weak-duality certificate without a simplex: one other row with
//! its best multiplier, then pairs of the rows whose single bounds came closest (see
//! [`implied_by_one_or_two`]); the multipliers are found in floating point and only the bound
//! [`dual_bound`] computes from them, with its rounding margin, decides. On the MNIST conv net
//! that settles about 45% of the local tests; the others get the LP.
//!
//! Rows are dropped one at a time, each against the rows still kept, so every dropped row is
//! implied by the final set (within `tol` per row in slack units: the rows are normalised). An LP
//! that fails (e.g. an empty pattern, where a local subproblem can be infeasible) keeps its row.
//! Rows (and neighbourhoods) wider than [`LOCAL_COLUMNS`] columns, or than a quarter of the
//! input, only get the box test: their local LPs would cost what an LP over the region costs.

use crate::lp::{dual_bound, Polytope, Simplex};
use crate::polytope::interval;
use crate::window_rows::WindowRows;
use std::collections::HashMap;

/// Largest number of columns (variables) of a local LP.
pub const LOCAL_COLUMNS: usize = 64;

/// How many rows each test dropped.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ImpliedCounts {
    pub by_box: usize,
    pub by_window: usize,
    pub by_neighbourhood: usize,
    /// Local tests that needed a simplex, and rows (of `by_window` and `by_neighbourhood`)
    /// dropped by the multipliers of one or two other rows without one.
    pub lps: usize,
    pub without_lp: usize,
}

impl ImpliedCounts {
    pub fn total(&self) -> usize {
        self.by_box + self.by_window + self.by_neighbourhood
    }
}

/// For every row of `a` (row-major, `b.len() × n`), whether it is implied by the rows that are
/// kept (false) and the box, and the counts per test.
pub fn implied_rows(
    n: usize,
    a: &[f64],
    b: &[f64],
    lower: &[f64],
    upper: &[f64],
    tol: f64,
) -> (Vec<bool>, ImpliedCounts) {
    implied_rows_of(&WindowRows::from_dense(n, &a[..b.len() * n]), b, lower, upper, tol)
}

/// [`implied_rows`] of rows stored over their windows (the same answers as on the dense rows:
/// a row's zeros outside its window are skipped by every test, as the dense code skips zeros).
pub fn implied_rows_of(
    a: &WindowRows,
    b: &[f64],
    lower: &[f64],
    upper: &[f64],
    tol: f64,
) -> (Vec<bool>, ImpliedCounts) {
    let n = a.n();
    let m = b.len();
    let mut counts = ImpliedCounts::default();
    let mut dropped = vec![false; m];
    let mut columns: Vec<Vec<u32>> = vec![Vec::new(); m];
    // Local LPs only pay when they are much smaller than one over the whole input.
    let local_max = LOCAL_COLUMNS.min(n / 4);
    // max(|lower_j|, |upper_j|): the magnitude of column j's terms per unit coefficient.
    let reach: Vec<f64> =
        lower.iter().zip(upper).map(|(l, u)| if l.abs() > u.abs() { l.abs() } else { u.abs() }).collect();
    let mut nonzero: Vec<u32> = Vec::with_capacity(local_max + 1);
    let mut dense = vec![0.0; n];
    for i in 0..m {
        let (lo, _) = a.window(i);
        let row = a.values(i);
        // One pass over the window finds the non-zero columns (blocks of zeros skipped by OR-ing
        // their bits without the sign); a row with at most `local_max` of them gets its box test
        // from them alone, the same sums in the same order as `interval` (zero terms add
        // nothing), so the same bits, without a pass over its zeros.
        nonzero.clear();
        let sparse = nonzero_columns(row, local_max, &mut nonzero);
        let (mx, guard) = if sparse {
            let (mut mx, mut mag) = (-b[i], b[i].abs());
            for q in nonzero.iter_mut() {
                let c = row[*q as usize];
                *q += lo as u32;
                let j = *q as usize;
                // lower <= upper, and rounding is monotone: c·lower <= c·upper when c >= 0.
                mx += if c >= 0.0 { c * upper[j] } else { c * lower[j] };
                mag += c.abs() * reach[j];
            }
            (mx, 4.0 * (n + 2) as f64 * f64::EPSILON * mag)
        } else {
            a.copy_row(i, &mut dense);
            let (mx, _, guard) = interval(&dense, -b[i], lower, upper);
            (mx, guard)
        };
        if mx + guard <= 0.0 {
            dropped[i] = true;
            counts.by_box += 1;
            continue;
        }
        if sparse {
            columns[i] = nonzero.clone();
        }
    }
    let local = Local { a, b, lower, upper, tol, lps: std::cell::Cell::new(0), without_lp: std::cell::Cell::new(0) };
    // 2. Groups of rows over the same columns, in order of first appearance.
    let mut groups: Vec<Vec<usize>> = Vec::new();
    let mut group_of: HashMap<&[u32], usize> = HashMap::new();
    for i in 0..m {
        if dropped[i] || columns[i].is_empty() {
            continue;
        }
        let g = *group_of.entry(&columns[i][..]).or_insert_with(|| {
            groups.push(Vec::new());
            groups.len() - 1
        });
        groups[g].push(i);
    }
    for rows in &groups {
        if rows.len() < 2 {
            continue;
        }
        let cols = &columns[rows[0]];
        for (q, &i) in rows.iter().enumerate() {
            let others: Vec<usize> =
                rows.iter().enumerate().filter(|&(p, &r)| p != q && !dropped[r]).map(|(_, &r)| r).collect();
            if local.implies(cols, &others, i) {
                dropped[i] = true;
                counts.by_window += 1;
            }
        }
    }
    // 3. Neighbourhoods: the rows touching each column.
    let mut by_column: Vec<Vec<usize>> = vec![Vec::new(); n];
    for i in 0..m {
        if !dropped[i] {
            for &j in &columns[i] {
                by_column[j as usize].push(i);
            }
        }
    }
    let mut union: Vec<u32> = Vec::new();
    let mut others: Vec<usize> = Vec::new();
    // Membership of the current union: in_union[j] == stamp (a new stamp per row, no clearing);
    // the union is abandoned as soon as it is too wide, before any sorting.
    let mut in_union: Vec<usize> = vec![usize::MAX; n];
    for i in 0..m {
        if dropped[i] || columns[i].is_empty() {
            continue;
        }
        union.clear();
        let mut wide = false;
        'gather: for &j in &columns[i] {
            for &r in &by_column[j as usize] {
                if dropped[r] {
                    continue;
                }
                for &c in &columns[r] {
                    if in_union[c as usize] != i {
                        in_union[c as usize] = i;
                        union.push(c);
                        if union.len() > local_max {
                            wide = true;
                            break 'gather;
                        }
                    }
                }
            }
        }
        if wide || union.len() == columns[i].len() {
            // Too wide, or no neighbour beyond the row's own window (test 2 decided it).
            continue;
        }
        union.sort_unstable();
        others.clear();
        for &j in &union {
            for &r in &by_column[j as usize] {
                if r != i && !dropped[r] && columns[r].iter().all(|&c| in_union[c as usize] == i) {
                    others.push(r);
                }
            }
        }
        others.sort_unstable();
        others.dedup();
        if local.implies(&union, &others, i) {
            dropped[i] = true;
            counts.by_neighbourhood += 1;
        }
    }
    counts.lps = local.lps.get();
    counts.without_lp = local.without_lp.get();
    (dropped, counts)
}

/// The non-zero columns of `row` in order, into `out`, if there are at most `max` of them
/// (false, with `out` partly filled, otherwise).
fn nonzero_columns(row: &[f64], max: usize, out: &mut Vec<u32>) -> bool {
    const BLOCK: usize = 16;
    let mut start = 0;
    for block in row.chunks(BLOCK) {
        // Zero iff every entry is ±0 (the sign bit shifted out).
        let bits = block.iter().fold(0u64, |acc, v| acc | (v.to_bits() << 1));
        if bits != 0 {
            for (q, v) in block.iter().enumerate() {
                if *v != 0.0 {
                    if out.len() == max {
                        return false;
                    }
                    out.push((start + q) as u32);
                }
            }
        }
        start += BLOCK;
    }
    true
}

/// The data of the local LPs.
struct Local<'a> {
    a: &'a WindowRows,
    b: &'a [f64],
    lower: &'a [f64],
    upper: &'a [f64],
    tol: f64,
    /// Simplex runs so far, and rows proven implied without one.
    lps: std::cell::Cell<usize>,
    without_lp: std::cell::Cell<usize>,
}

impl Local<'_> {
    /// Whether rows `others` (whose columns lie in `cols`) and the box imply row `i` (columns in
    /// `cols`): the certified maximum of a_i·x over them is <= b_i + tol.
    fn implies(&self, cols: &[u32], others: &[usize], i: usize) -> bool {
        if others.is_empty() {
            return false;
        }
        let k = cols.len();
        let threshold = self.b[i] + self.tol;
        let lo: Vec<f64> = cols.iter().map(|&j| self.lower[j as usize]).collect();
        let hi: Vec<f64> = cols.iter().map(|&j| self.upper[j as usize]).collect();
        let c: Vec<f64> = cols.iter().map(|&j| self.a.at(i, j as usize)).collect();
        let mut g = Vec::with_capacity(others.len() * k);
        let mut h = Vec::with_capacity(others.len());
        for &r in others {
            g.extend(cols.iter().map(|&j| self.a.at(r, j as usize)));
            h.push(self.b[r]);
        }
        if implied_by_one_or_two(&c, &g, &h, &lo, &hi, threshold) {
            self.without_lp.set(self.without_lp.get() + 1);
            return true;
        }
        let p = Polytope { n: k, m: h.len(), g: &g, h: &h, lower: &lo, upper: &hi };
        // Only "is the maximum <= b_i + tol" is asked: a cold dual simplex that stops as soon as
        // its certified bound is below that (most tested rows are implied) answers it without
        // solving to the optimum; a row it cannot prove is solved in full, as before.
        self.lps.set(self.lps.get() + 1);
        match Simplex::new(p).maximize_unless_below(&c, threshold) {
            Ok(Err(bound)) => bound <= threshold,
            Ok(Ok(sol)) => sol.upper <= threshold,
            Err(_) => false,
        }
    }
}

/// Whether one row of `g x <= h` (rows of `c.len()` columns), or two of them, with the box
/// bound max c·x by `threshold`: a weak-duality bound from multipliers found without a simplex,
/// checked with its rounding margin by [`dual_bound`] (so only the check is trusted).
///
/// One row: the best multiplier exactly ([`best_single_multiplier`]). Two rows: the row whose
/// single bound was lowest with each other row, by a few rounds of exact minimisation over one
/// multiplier while the other is held (any multipliers >= 0 give a valid bound; these are
/// usually good enough). Locally, most implied rows of a convolution are implied by one or two
/// neighbours; the others go to the LP.
fn implied_by_one_or_two(c: &[f64], g: &[f64], h: &[f64], lo: &[f64], hi: &[f64], threshold: f64) -> bool {
    let k = c.len();
    let m = h.len();
    let row = |r: usize| &g[r * k..(r + 1) * k];
    let check = |rows: &[usize], lambda: &[f64]| {
        let mut gg = Vec::with_capacity(rows.len() * k);
        let mut hh = Vec::with_capacity(rows.len());
        for &r in rows {
            gg.extend_from_slice(row(r));
            hh.push(h[r]);
        }
        let p = Polytope { n: k, m: rows.len(), g: &gg, h: &hh, lower: lo, upper: hi };
        dual_bound(&p, c, lambda).0 <= threshold
    };
    // The rows with the lowest single bounds, and their multipliers.
    const PAIRED: usize = 4;
    let mut top: Vec<(f64, usize, f64)> = Vec::with_capacity(PAIRED + 1);
    for r in 0..m {
        let (t, estimate) = best_single_multiplier(c, row(r), h[r], lo, hi);
        if t > 0.0 && estimate <= threshold && check(&[r], &[t]) {
            return true;
        }
        if t > 0.0 && (top.len() < PAIRED || estimate < top[top.len() - 1].0) {
            let at = top.iter().position(|e| estimate < e.0).unwrap_or(top.len());
            top.insert(at, (estimate, r, t));
            top.truncate(PAIRED);
        }
    }
    let mut rest = vec![0.0; k];
    let residual = |rest: &mut [f64], a: &[f64], t: f64| {
        for j in 0..k {
            rest[j] = c[j] - t * a[j];
        }
    };
    for p in 0..top.len() {
        for q in p + 1..top.len() {
            let (r, s) = (top[p].1, top[q].1);
            let (ar, as_) = (row(r), row(s));
            let mut t = top[p].2;
            for _ in 0..3 {
                residual(&mut rest, ar, t);
                let u = best_single_multiplier(&rest, as_, h[s], lo, hi).0;
                residual(&mut rest, as_, u);
                let (t1, e) = best_single_multiplier(&rest, ar, h[r], lo, hi);
                t = t1;
                if e + u * h[s] <= threshold {
                    if check(&[r, s], &[t, u]) {
                        return true;
                    }
                    break;
                }
            }
        }
    }
    false
}

/// The multiplier t >= 0 of one row a·x <= b minimising the weak-duality bound
/// φ(t) = t b + Σ_j max((c_j − t a_j) lo_j, (c_j − t a_j) hi_j) of max c·x over the row and the
/// box, and φ there as computed (an estimate: callers check the bound with its rounding margin).
/// φ is convex and piecewise linear; its slope b − Σ_j a_j (hi_j or lo_j, by the sign of
/// c_j − t a_j) grows by |a_j| (hi_j − lo_j) at each kink t_j = c_j / a_j, so the minimum over
/// t >= 0 is at 0 or at the first kink where the slope turns non-negative.
fn best_single_multiplier(c: &[f64], a: &[f64], b: f64, lo: &[f64], hi: &[f64]) -> (f64, f64) {
    let phi = |t: f64| {
        let mut v = t * b;
        for j in 0..c.len() {
            let r = c[j] - t * a[j];
            v += if r >= 0.0 { r * hi[j] } else { r * lo[j] };
        }
        v
    };
    let mut slope = b;
    let mut kinks: Vec<(f64, f64)> = Vec::with_capacity(c.len());
    for j in 0..c.len() {
        if a[j] == 0.0 {
            continue;
        }
        // Sign of c_j − t a_j just above t = 0.
        let positive = c[j] > 0.0 || (c[j] == 0.0 && a[j] < 0.0);
        slope -= a[j] * if positive { hi[j] } else { lo[j] };
        let t = c[j] / a[j];
        if t > 0.0 && t.is_finite() {
            kinks.push((t, a[j].abs() * (hi[j] - lo[j])));
        }
    }
    if slope >= 0.0 {
        return (0.0, phi(0.0));
    }
    kinks.sort_unstable_by(|x, y| x.0.partial_cmp(&y.0).unwrap_or(std::cmp::Ordering::Equal));
    // If the slope stays negative, φ is unbounded below (the row and the box have no common
    // point): any t proves any bound; one past the last kink will do.
    let mut t = 2.0 * kinks.last().map_or(0.0, |e| e.0) + 1.0;
    for &(tj, rise) in &kinks {
        slope += rise;
        if slope >= 0.0 {
            t = tj;
            break;
        }
    }
    (t, phi(t))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::linalg::{dot, norm2};
    use crate::network::tests::Rng;

    /// Rows over windows of a 1-D "image": each row reads `w` consecutive columns.
    fn windowed(rng: &mut Rng, n: usize, w: usize, per_window: usize) -> (Vec<f64>, Vec<f64>, Vec<f64>) {
        let x0: Vec<f64> = (0..n).map(|_| rng.range(0.2, 0.8)).collect();
        let (mut a, mut b) = (Vec::new(), Vec::new());
        for s in 0..=n - w {
            for _ in 0..per_window {
                let mut row = vec![0.0; n];
                for j in s..s + w {
                    row[j] = rng.normal();
                }
                let nr = norm2(&row);
                row.iter_mut().for_each(|v| *v /= nr);
                // Every row holds at x0 with a random slack, some far from the box.
                let slack = rng.range(0.0, 0.6);
                b.push(dot(&row, &x0) + slack);
                a.extend(row);
            }
        }
        (a, b, x0)
    }

    #[test]
    fn dropped_rows_are_implied_by_the_kept_ones() {
        let mut rng = Rng(11);
        let (mut settled_without_lp, mut with_lp) = (0, 0);
        for trial in 0..6 {
            let n = 24;
            let (a, b, x0) = windowed(&mut rng, n, 2 + trial % 3, 6);
            let (lo, hi) = (vec![0.0; n], vec![1.0; n]);
            let (dropped, counts) = implied_rows(n, &a, &b, &lo, &hi, 0.0);
            let m = b.len();
            // The same answers from the rows stored over their windows (the nonzero span).
            let mut windowed_rows = WindowRows::new(n);
            for i in 0..m {
                let row = &a[i * n..(i + 1) * n];
                let first = row.iter().position(|v| v.to_bits() != 0).unwrap_or(0);
                let last = row.iter().rposition(|v| v.to_bits() != 0).map_or(first, |l| l + 1);
                windowed_rows.push(first, &row[first..last], 0.0);
            }
            assert_eq!(windowed_rows.to_dense(), a);
            assert!((0..m).any(|i| windowed_rows.window(i) != (0, n)));
            assert_eq!(implied_rows_of(&windowed_rows, &b, &lo, &hi, 0.0), (dropped.clone(), counts));
            assert_eq!(counts.total(), dropped.iter().filter(|d| **d).count());
            settled_without_lp += counts.without_lp;
            with_lp += counts.by_window + counts.by_neighbourhood - counts.without_lp;
            assert!(counts.total() > 0 && counts.total() < m, "trial {}: {:?} of {}", trial, counts, m);
            // Each dropped row: its maximum over the kept rows and the box (an LP over all n
            // variables, independent of the local subproblems) is at most b_i.
            let (mut ka, mut kb) = (Vec::new(), Vec::new());
            for i in (0..m).filter(|&i| !dropped[i]) {
                ka.extend_from_slice(&a[i * n..(i + 1) * n]);
                kb.push(b[i]);
            }
            let mut sx = Simplex::new(Polytope { n, m: kb.len(), g: &ka, h: &kb, lower: &lo, upper: &hi });
            for i in (0..m).filter(|&i| dropped[i]) {
                let sol = sx.maximize(&a[i * n..(i + 1) * n]).unwrap();
                assert!(
                    sol.lower <= b[i] + 1e-9,
                    "trial {}: row {} exceeds its bound by {}",
                    trial,
                    i,
                    sol.lower - b[i]
                );
            }
            // A kept row is not implied by the box alone, and x0 satisfies every row.
            assert!((0..m).all(|i| dot(&a[i * n..(i + 1) * n], &x0) <= b[i] + 1e-12));
            // And the sets agree on random points of the box.
            for _ in 0..2000 {
                let x: Vec<f64> = (0..n).map(|_| rng.uniform()).collect();
                let all = (0..m).all(|i| dot(&a[i * n..(i + 1) * n], &x) <= b[i]);
                let kept = (0..m).filter(|&i| !dropped[i]).all(|i| dot(&a[i * n..(i + 1) * n], &x) <= b[i]);
                assert_eq!(all, kept, "trial {}: the sets differ at {:?}", trial, x);
            }
        }
        // Both ways of proving a row implied were used (and checked by the LPs above).
        assert!(settled_without_lp > 0 && with_lp > 0, "{} {}", settled_without_lp, with_lp);
    }

    #[test]
    fn single_multiplier_is_the_minimum_and_two_row_bounds_are_sound() {
        let mut rng = Rng(5);
        for _ in 0..200 {
            let k = 1 + (rng.uniform() * 6.0) as usize;
            let c: Vec<f64> = (0..k).map(|_| rng.normal()).collect();
            let a: Vec<f64> = (0..k).map(|_| if rng.uniform() < 0.2 { 0.0 } else { rng.normal() }).collect();
            let lo: Vec<f64> = (0..k).map(|_| rng.range(-1.0, 0.5)).collect();
            let hi: Vec<f64> = lo.iter().map(|l| l + rng.range(0.0, 1.5)).collect();
            let b = rng.range(-0.5, 1.5);
            let phi = |t: f64| {
                t * b + (0..k).map(|j| ((c[j] - t * a[j]) * lo[j]).max((c[j] - t * a[j]) * hi[j])).sum::<f64>()
            };
            let (t, v) = best_single_multiplier(&c, &a, b, &lo, &hi);
            assert!(t >= 0.0 && (v - phi(t)).abs() <= 1e-12 * (1.0 + v.abs()));
            if phi(1e6) < phi(1e3) {
                // Unbounded below (the row misses the box): any t >= 0 is as good a proof.
                continue;
            }
            // No multiplier on a fine grid (nor any kink) does better.
            let mut grid: Vec<f64> = (0..=4000).map(|s| s as f64 * 0.005).collect();
            grid.extend((0..k).filter(|&j| a[j] != 0.0).map(|j| c[j] / a[j]).filter(|t| *t > 0.0));
            for s in grid {
                assert!(v <= phi(s) + 1e-9 * (1.0 + v.abs()), "t = {}: {} > φ({}) = {}", t, v, s, phi(s));
            }
        }
        // Whatever one or two rows prove is true: the exact maximum (an LP) is below the
        // threshold whenever they say so, and above it when they cannot be right.
        let mut proved = 0;
        for _ in 0..300 {
            let k = 2 + (rng.uniform() * 4.0) as usize;
            let m = 1 + (rng.uniform() * 5.0) as usize;
            let g: Vec<f64> = (0..m * k).map(|_| rng.normal()).collect();
            let h: Vec<f64> = (0..m).map(|_| rng.range(0.0, 1.0)).collect();
            let c: Vec<f64> = (0..k).map(|_| rng.normal()).collect();
            let (lo, hi) = (vec![0.0; k], vec![1.0; k]);
            let exact = Simplex::new(Polytope { n: k, m, g: &g, h: &h, lower: &lo, upper: &hi }).maximize(&c);
            let exact = match exact {
                Ok(sol) => sol.lower,
                Err(_) => continue,
            };
            for threshold in [exact - 1e-6, exact + 1e-6, exact + 0.1] {
                if implied_by_one_or_two(&c, &g, &h, &lo, &hi, threshold) {
                    assert!(exact <= threshold, "claimed max <= {} but a point reaches {}", threshold, exact);
                    proved += 1;
                }
            }
        }
        assert!(proved > 50, "{}", proved);
    }

    #[test]
    fn box_implied_rows_and_wide_rows() {
        // x0 + x1 <= 3 is implied by [0, 1]^12; of two equal rows one is dropped, not both; a
        // row that only its wider neighbour could imply is kept when it does not.
        let a = vec![1.0, 1.0, 0.0, 0.5, 0.5, 0.5, 0.0, 1.0, 0.0, 0.0, 1.0, 0.0];
        let b = vec![3.0, 0.5, 0.25, 0.25];
        let n = 12;
        let wide = |a: &[f64]| {
            let mut v = vec![0.0; n];
            v[..3].copy_from_slice(a);
            v
        };
        let a: Vec<f64> = a.chunks(3).flat_map(wide).collect();
        let (dropped, counts) = implied_rows(n, &a, &b, &[0.0; 12], &[1.0; 12], 1e-9);
        assert_eq!(dropped, vec![true, false, true, false]);
        assert_eq!((counts.by_box, counts.by_window, counts.by_neighbourhood), (1, 1, 0));
    }
}
