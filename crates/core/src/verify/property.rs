//! Properties as VNN-LIB defines them: an input set (a box, optionally ∩ {x : A x <= b}) and an
//! **unsafe** output set, a union of disjuncts `{y : A_t y <= b_t}`. The property holds when no
//! input of the set has its output in the unsafe set.

use crate::error::{invalid, Result};
use crate::linalg::dot;
use crate::region::{check_box, normalise_rows};

/// One disjunct of the unsafe set: `{y : a y <= b}`, `a` row-major `rows × outputs`.
#[derive(Debug, Clone, PartialEq)]
pub struct Disjunct {
    pub a: Vec<f64>,
    pub b: Vec<f64>,
}

impl Disjunct {
    pub fn rows(&self) -> usize {
        self.b.len()
    }

    pub fn row(&self, r: usize, k: usize) -> &[f64] {
        &self.a[r * k..(r + 1) * k]
    }

    /// max_r (a_r·y − b_r): <= 0 exactly when y lies in the disjunct (−∞ for no rows).
    pub fn depth(&self, y: &[f64]) -> f64 {
        let k = y.len();
        (0..self.rows()).map(|r| dot(self.row(r, k), y) - self.b[r]).fold(f64::NEG_INFINITY, f64::max)
    }
}

/// A property: input set and unsafe output set.
#[derive(Debug, Clone, PartialEq)]
pub struct Property {
    pub n_in: usize,
    pub n_out: usize,
    pub lower: Vec<f64>,
    pub upper: Vec<f64>,
    /// Extra input rows `a x <= b`, normalised (‖a_i‖₂ = 1); empty for a box.
    pub a: Vec<f64>,
    pub b: Vec<f64>,
    pub unsafe_set: Vec<Disjunct>,
}

impl Property {
    /// Checks sizes and values; input rows are normalised.
    pub fn new(
        n_in: usize,
        n_out: usize,
        lower: Vec<f64>,
        upper: Vec<f64>,
        a: &[f64],
        b: &[f64],
        unsafe_set: Vec<Disjunct>,
    ) -> Result<Property> {
        check_box(n_in, &lower, &upper)?;
        let (na, nb, _) = normalise_rows(n_in, a, b)?;
        if unsafe_set.is_empty() {
            return invalid("property: the unsafe set has no disjunct (nothing can violate it)".to_string());
        }
        for (t, d) in unsafe_set.iter().enumerate() {
            if d.a.len() != d.b.len() * n_out {
                return invalid(format!(
                    "property: unsafe disjunct {} has {} coefficients for {} rows of {} outputs",
                    t,
                    d.a.len(),
                    d.b.len(),
                    n_out
                ));
            }
            if let Some(i) = d.a.iter().chain(d.b.iter()).position(|v| !v.is_finite()) {
                return invalid(format!("property: unsafe disjunct {} entry {} is not finite", t, i));
            }
        }
        Ok(Property { n_in, n_out, lower, upper, a: na, b: nb, unsafe_set })
    }

    /// min over disjuncts of their depth at y: <= 0 exactly when y is unsafe. The margin by
    /// which y is safe (> 0) or violates (< 0).
    pub fn margin(&self, y: &[f64]) -> f64 {
        self.unsafe_set.iter().map(|d| d.depth(y)).fold(f64::INFINITY, f64::min)
    }

    /// Whether x satisfies the input rows (and the box).
    pub fn contains(&self, x: &[f64]) -> bool {
        let n = self.n_in;
        (0..n).all(|j| x[j] >= self.lower[j] && x[j] <= self.upper[j])
            && (0..self.b.len()).all(|i| dot(&self.a[i * n..(i + 1) * n], x) <= self.b[i])
    }
}
