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
//! Rows are dropped one at a time, each against the rows still kept, so every dropped row is
//! implied by the final set (within `tol` per row in slack units: the rows are normalised). An LP
//! that fails (e.g. an empty pattern, where a local subproblem can be infeasible) keeps its row.
//! Rows (and neighbourhoods) wider than [`LOCAL_COLUMNS`] columns, or than a quarter of the
//! input, only get the box test: their local LPs would cost what an LP over the region costs.

use crate::lp::{Polytope, Simplex};
use crate::polytope::interval;
use std::collections::HashMap;

/// Largest number of columns (variables) of a local LP.
pub const LOCAL_COLUMNS: usize = 64;

/// How many rows each test dropped.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ImpliedCounts {
    pub by_box: usize,
    pub by_window: usize,
    pub by_neighbourhood: usize,
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
    let m = b.len();
    let mut counts = ImpliedCounts::default();
    let mut dropped = vec![false; m];
    let mut columns: Vec<Vec<u32>> = vec![Vec::new(); m];
    // Local LPs only pay when they are much smaller than one over the whole input.
    let local_max = LOCAL_COLUMNS.min(n / 4);
    for i in 0..m {
        let row = &a[i * n..(i + 1) * n];
        let (mx, _, guard) = interval(row, -b[i], lower, upper);
        if mx + guard <= 0.0 {
            dropped[i] = true;
            counts.by_box += 1;
            continue;
        }
        let nz = row.iter().filter(|v| **v != 0.0).count();
        if nz <= local_max {
            columns[i] = (0..n).filter(|&j| row[j] != 0.0).map(|j| j as u32).collect();
        }
    }
    let local = Local { n, a, b, lower, upper, tol };
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
    (dropped, counts)
}

/// The data of the local LPs.
struct Local<'a> {
    n: usize,
    a: &'a [f64],
    b: &'a [f64],
    lower: &'a [f64],
    upper: &'a [f64],
    tol: f64,
}

impl Local<'_> {
    /// Whether rows `others` (whose columns lie in `cols`) and the box imply row `i` (columns in
    /// `cols`): the certified maximum of a_i·x over them is <= b_i + tol.
    fn implies(&self, cols: &[u32], others: &[usize], i: usize) -> bool {
        if others.is_empty() {
            return false;
        }
        let n = self.n;
        let k = cols.len();
        let mut g = Vec::with_capacity(others.len() * k);
        let mut h = Vec::with_capacity(others.len());
        for &r in others {
            g.extend(cols.iter().map(|&j| self.a[r * n + j as usize]));
            h.push(self.b[r]);
        }
        let lo: Vec<f64> = cols.iter().map(|&j| self.lower[j as usize]).collect();
        let hi: Vec<f64> = cols.iter().map(|&j| self.upper[j as usize]).collect();
        let c: Vec<f64> = cols.iter().map(|&j| self.a[i * n + j as usize]).collect();
        let p = Polytope { n: k, m: h.len(), g: &g, h: &h, lower: &lo, upper: &hi };
        // Only "is the maximum <= b_i + tol" is asked: a cold dual simplex that stops as soon as
        // its certified bound is below that (most tested rows are implied) answers it without
        // solving to the optimum; a row it cannot prove is solved in full, as before.
        let threshold = self.b[i] + self.tol;
        match Simplex::new(p).maximize_unless_below(&c, threshold) {
            Ok(Err(bound)) => bound <= threshold,
            Ok(Ok(sol)) => sol.upper <= threshold,
            Err(_) => false,
        }
    }
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
        for trial in 0..6 {
            let n = 24;
            let (a, b, x0) = windowed(&mut rng, n, 2 + trial % 3, 6);
            let (lo, hi) = (vec![0.0; n], vec![1.0; n]);
            let (dropped, counts) = implied_rows(n, &a, &b, &lo, &hi, 0.0);
            let m = b.len();
            assert_eq!(counts.total(), dropped.iter().filter(|d| **d).count());
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
        assert_eq!(counts, ImpliedCounts { by_box: 1, by_window: 1, by_neighbourhood: 0 });
    }
}
