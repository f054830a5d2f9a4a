//! Row generation for the condensed-tableau fallback: which rows outside the working set join it.
//!
//! At the current point every row outside the set is evaluated (one pass over G, the cost of a
//! single full-tableau pivot). The most violated ones join, a batch at a time; rows are
//! normalised in the region LPs, so the violation is a distance. Of several nearly parallel rows
//! (deep layers fed by a few active neurons produce whole families of them) only the most
//! violated joins in one batch: the others are nearly implied by it.

use super::Simplex;
use crate::linalg::dot;

/// Rows whose normalised directions agree to this cosine count as one family in a batch.
const PARALLEL_COS: f64 = 1.0 - 1e-6;

impl Simplex {
    /// Euclidean norm of row i, computed on first use (violations are compared per unit norm;
    /// the rows of region LPs are normalised already).
    fn row_norm(&mut self, i: usize) -> f64 {
        if self.norms[i] < 0.0 {
            let n = self.p.n;
            let g = &self.p.g[i * n..(i + 1) * n];
            self.norms[i] = dot(g, g).sqrt().max(1e-300);
        }
        self.norms[i]
    }

    /// Rows joining the working set per separation round.
    fn batch(&self) -> usize {
        (self.p.n / 32).clamp(8, 64)
    }

    /// Adds the most violated rows outside the working set at the current point; returns how
    /// many joined (0: the point satisfies every row up to the feasibility tolerance).
    pub(super) fn separate(&mut self) -> usize {
        let (n, m) = (self.p.n, self.p.m);
        if self.rows() >= m && self.in_set.iter().all(|&s| s) {
            return 0;
        }
        let x = self.point();
        let mut violated: Vec<(f64, usize)> = Vec::new();
        for i in 0..m {
            if self.in_set[i] {
                continue;
            }
            let v = dot(&self.p.g[i * n..(i + 1) * n], &x) - self.p.h[i];
            if v > self.feas_tol {
                violated.push((v / self.row_norm(i), i));
            }
        }
        if violated.is_empty() {
            return 0;
        }
        violated.sort_by(|a, b| b.0.partial_cmp(&a.0).unwrap_or(std::cmp::Ordering::Equal).then(a.1.cmp(&b.1)));
        let batch = self.batch();
        let mut chosen: Vec<usize> = Vec::with_capacity(batch);
        for &(_, i) in &violated {
            if chosen.len() == batch {
                break;
            }
            let gi = &self.p.g[i * n..(i + 1) * n];
            // Norms of violated rows were computed above.
            let ni = self.norms[i];
            let parallel =
                chosen.iter().any(|&k| dot(gi, &self.p.g[k * n..(k + 1) * n]) > PARALLEL_COS * ni * self.norms[k]);
            if !parallel {
                chosen.push(i);
            }
        }
        for &i in &chosen {
            self.add_row(i, &x);
        }
        self.stats.rounds += 1;
        self.stats.rows_added += chosen.len();
        chosen.len()
    }
}
