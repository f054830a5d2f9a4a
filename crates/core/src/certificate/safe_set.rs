//! The safe output set a certificate proves: one convex piece {P y <= q}, or a union of convex
//! pieces (a VNN-LIB safe set is the complement of a union of polytopes). A point is safe when
//! *some* piece holds there; the certificate never requires one piece to hold everywhere.

use std::ops::Range;

use crate::error::{invalid, Result};
use crate::linalg::dot;
use crate::lp::{maximize, Polytope};
use crate::spec::Spec;

#[derive(Debug, Clone, PartialEq)]
pub struct SafeSet {
    pub k: usize,
    pub pieces: Vec<Spec>,
    /// Every piece's rows stacked (piece 0 first): the rows the certificate bounds.
    pub all: Spec,
    /// Row range of piece p in `all`: `start[p]..start[p + 1]`.
    start: Vec<usize>,
}

impl SafeSet {
    pub fn new(pieces: Vec<Spec>) -> Result<SafeSet> {
        if pieces.is_empty() {
            return invalid("safe set: it has no piece".to_string());
        }
        let k = pieces[0].k;
        if let Some(p) = pieces.iter().position(|s| s.k != k) {
            return invalid(format!("safe set: piece {} has {} outputs, piece 0 has {}", p, pieces[p].k, k));
        }
        let mut p = Vec::new();
        let mut q = Vec::new();
        let mut start = vec![0];
        for s in &pieces {
            p.extend_from_slice(&s.p);
            q.extend_from_slice(&s.q);
            start.push(q.len());
        }
        let all = Spec::new(k, p, q)?;
        Ok(SafeSet { k, pieces, all, start })
    }

    /// One convex piece.
    pub fn convex(spec: Spec) -> SafeSet {
        let rows = spec.rows();
        SafeSet { k: spec.k, all: spec.clone(), pieces: vec![spec], start: vec![0, rows] }
    }

    pub fn is_union(&self) -> bool {
        self.pieces.len() > 1
    }

    /// Stacked rows (all pieces).
    pub fn rows(&self) -> usize {
        self.all.rows()
    }

    pub fn piece_rows(&self, p: usize) -> Range<usize> {
        self.start[p]..self.start[p + 1]
    }

    /// min over pieces of max over their rows of (P_j y − q_j): <= 0 exactly when y is safe.
    pub fn violation(&self, y: &[f64]) -> f64 {
        self.pieces.iter().map(|s| s.violation(y)).fold(f64::INFINITY, f64::min)
    }

    /// The union violation of per-row values `v` (stacked rows): min_p max_{j ∈ p} v_j.
    pub fn combine(&self, v: &[f64]) -> f64 {
        (0..self.pieces.len())
            .map(|p| self.piece_rows(p).map(|j| v[j]).fold(f64::NEG_INFINITY, f64::max))
            .fold(f64::INFINITY, f64::min)
    }
}

/// Rows of `spec` that contradict each other (a Farkas certificate: multipliers λ >= 0 with
/// λᵀP = 0 and λᵀq < 0, so that no y satisfies P y <= q), or None when the LP finds none.
/// Used to refuse an empty safe set before any work, naming the rows.
pub fn contradicting_rows(spec: &Spec) -> Result<Option<Vec<usize>>> {
    let (m, k) = (spec.rows(), spec.k);
    // Variables λ ∈ [0, 1]^m; rows Pᵀλ <= 0 and −Pᵀλ <= 0; maximise −qᵀλ.
    let mut g = Vec::with_capacity(2 * k * m);
    for sign in [1.0, -1.0] {
        for o in 0..k {
            g.extend((0..m).map(|j| sign * spec.p[j * k + o]));
        }
    }
    let h = vec![0.0; 2 * k];
    let lower = vec![0.0; m];
    let upper = vec![1.0; m];
    let c: Vec<f64> = spec.q.iter().map(|v| -v).collect();
    let sol = maximize(Polytope::new(m, &g, &h, &lower, &upper)?, &c)?;
    let lambda = &sol.x;
    // A clear contradiction only: λᵀq well below 0 relative to the terms, and λᵀP ≈ 0.
    let mag: f64 = (0..m).map(|j| lambda[j] * spec.q[j].abs()).sum::<f64>();
    let value = -dot(&spec.q, lambda);
    let mut residual: f64 = 0.0;
    let mut pmag: f64 = 0.0;
    for o in 0..k {
        let r: f64 = (0..m).map(|j| lambda[j] * spec.p[j * k + o]).sum();
        residual = residual.max(r.abs());
        pmag = pmag.max((0..m).map(|j| lambda[j] * spec.p[j * k + o].abs()).sum::<f64>());
    }
    if value > 1e-9 * (1.0 + mag) && residual <= 1e-9 * pmag.max(1e-300) {
        Ok(Some((0..m).filter(|&j| lambda[j] > 1e-9).collect()))
    } else {
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contradicting_rows_are_found_and_feasible_specs_pass() {
        // y0 <= -1e9 and -y0 <= -1e9 (y0 >= 1e9): empty.
        let s = Spec::new(5, vec![1.0, 0.0, 0.0, 0.0, 0.0, -1.0, 0.0, 0.0, 0.0, 0.0], vec![-1e9, -1e9]).unwrap();
        assert_eq!(contradicting_rows(&s).unwrap(), Some(vec![0, 1]));
        // A label spec and a box are not empty.
        assert_eq!(contradicting_rows(&Spec::label(4, 2, 0.5).unwrap()).unwrap(), None);
        let b = Spec::new(2, vec![1.0, 0.0, -1.0, 0.0, 0.0, 1.0], vec![1.0, 1.0, 3.0]).unwrap();
        assert_eq!(contradicting_rows(&b).unwrap(), None);
        // Three rows, the contradiction among rows 0, 2 (y0 + y1 <= 0, y1 free, -y0 - y1 <= -1).
        let t = Spec::new(2, vec![1.0, 1.0, 0.0, 1.0, -1.0, -1.0], vec![0.0, 5.0, -1.0]).unwrap();
        assert_eq!(contradicting_rows(&t).unwrap(), Some(vec![0, 2]));
    }

    #[test]
    fn union_violation_is_the_best_piece() {
        let a = Spec::new(2, vec![1.0, 0.0], vec![0.0]).unwrap(); // y0 <= 0
        let b = Spec::new(2, vec![0.0, 1.0, 0.0, -1.0], vec![0.0, 1.0]).unwrap(); // -1 <= y1 <= 0
        let u = SafeSet::new(vec![a, b]).unwrap();
        assert_eq!(u.rows(), 3);
        assert_eq!(u.piece_rows(1), 1..3);
        assert_eq!(u.violation(&[1.0, -0.5]), -0.5);
        assert_eq!(u.violation(&[1.0, 2.0]), 1.0);
        assert_eq!(u.combine(&[1.0, 2.0, -3.0]), 1.0);
    }
}
