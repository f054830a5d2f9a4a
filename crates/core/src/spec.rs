//! Output specifications Φ_out = { y : P y <= q } (METHOD.md §1).

use crate::error::{invalid, Result};
use crate::linalg::dot;

/// Φ_out = { y : P y <= q } over `k` outputs; `p` is row-major `rows × k`.
#[derive(Debug, Clone, PartialEq)]
pub struct Spec {
    pub k: usize,
    pub p: Vec<f64>,
    pub q: Vec<f64>,
}

impl Spec {
    pub fn new(k: usize, p: Vec<f64>, q: Vec<f64>) -> Result<Spec> {
        if k == 0 || p.len() != k * q.len() {
            return invalid(format!("spec: P has {} values, expected {} rows x {} outputs", p.len(), q.len(), k));
        }
        if q.is_empty() {
            return invalid("spec: it has no rows".to_string());
        }
        if let Some(i) = p.iter().chain(q.iter()).position(|v| !v.is_finite()) {
            return invalid(format!("spec: entry {} is not finite", i));
        }
        for j in 0..q.len() {
            let l1: f64 = p[j * k..(j + 1) * k].iter().map(|v| v.abs()).sum();
            if l1 == 0.0 && q[j] < 0.0 {
                return invalid(format!("spec: row {} reads 0 <= {}, so the output set is empty", j, -q[j]));
            }
        }
        Ok(Spec { k, p, q })
    }

    /// "Output `y` is the (non-strict) argmax, by at least `margin`": rows e_j − e_y <= −margin.
    pub fn label(k: usize, y: usize, margin: f64) -> Result<Spec> {
        if y >= k {
            return invalid(format!(
                "spec: label {} is out of range for {} outputs (0..{})",
                y,
                k,
                k.saturating_sub(1)
            ));
        }
        if !(margin.is_finite() && margin >= 0.0) {
            return invalid(format!("spec: margin {} must be finite and >= 0", margin));
        }
        let mut p = Vec::new();
        let mut q = Vec::new();
        for j in 0..k {
            if j != y {
                let mut row = vec![0.0; k];
                row[j] = 1.0;
                row[y] = -1.0;
                p.extend(row);
                q.push(-margin);
            }
        }
        if q.is_empty() {
            return invalid("spec: a label spec needs at least two outputs".to_string());
        }
        Spec::new(k, p, q)
    }

    pub fn rows(&self) -> usize {
        self.q.len()
    }

    pub fn row(&self, j: usize) -> &[f64] {
        &self.p[j * self.k..(j + 1) * self.k]
    }

    /// max_j (P_j y − q_j): <= 0 exactly when y satisfies the spec.
    pub fn violation(&self, y: &[f64]) -> f64 {
        (0..self.rows()).map(|j| dot(self.row(j), y) - self.q[j]).fold(f64::NEG_INFINITY, f64::max)
    }

    /// If every row is e_j − e_y for one common y, that y (a label spec, possibly with margins).
    pub fn label_target(&self) -> Option<usize> {
        let mut target = None;
        for j in 0..self.rows() {
            let row = self.row(j);
            let plus = row.iter().filter(|&&v| v == 1.0).count();
            let minus: Vec<usize> = (0..self.k).filter(|&i| row[i] == -1.0).collect();
            let zeros = row.iter().filter(|&&v| v == 0.0).count();
            if plus != 1 || minus.len() != 1 || zeros != self.k - 2 {
                return None;
            }
            match target {
                None => target = Some(minus[0]),
                Some(t) if t != minus[0] => return None,
                _ => {}
            }
        }
        target
    }
}
