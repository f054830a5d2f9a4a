//! The repair's LP multipliers as an untrusted hint for the certificate's spec-row bounds
//! (METHOD.md §5.2).
//!
//! For any λ >= 0 on rows A x <= b and any box [l, u] containing a set S ⊆ {A x <= b}:
//! max_S c·x <= λ·b + Σ_j max(r_j l_j, r_j u_j), r = c − Aᵀλ (weak duality). The rows and the
//! box are the certificate's own (recomputed from the network and the pattern, a superset of
//! the region), c is its own spec row on its own affine map, and the bound is computed with a
//! margin for its own rounding (`lp::dual_bound`). So the multipliers are only numbers to try:
//! wrong ones give a bound that is too large (the row then gets its LP), never one that is too
//! small.

use std::collections::HashMap;

use super::target::DualHint;
use crate::lp::{dual_bound, Polytope};
use crate::region::{LinearRegion, INPUT_ROW};

/// The region row of each hinted neuron (None: the neuron has no row in the region).
pub(super) struct HintedRows {
    rows: Vec<Option<usize>>,
}

impl HintedRows {
    pub(super) fn new(region: &LinearRegion, hint: &DualHint) -> HintedRows {
        let mut of: HashMap<u32, usize> = HashMap::new();
        for (i, &k) in region.neuron.iter().enumerate() {
            if k != INPUT_ROW {
                of.insert(k, i);
            }
        }
        HintedRows { rows: hint.neurons.iter().map(|k| of.get(k).cloned()).collect() }
    }

    /// A certified upper bound on max c·x over the region's rows and the box [lower, upper]
    /// from the hinted multipliers of stacked spec row `j` (None when they give no finite one).
    pub(super) fn bound(
        &self,
        region: &LinearRegion,
        hint: &DualHint,
        j: usize,
        c: &[f64],
        lower: &[f64],
        upper: &[f64],
    ) -> Option<f64> {
        let len = hint.neurons.len();
        let given = hint.duals.get(j * len..(j + 1) * len)?;
        let mut y = vec![0.0; region.rows()];
        for (t, &v) in given.iter().enumerate() {
            // NaN and ±inf fail this test; a negative multiplier would make the bound invalid.
            // All zero is a hint too: the box alone bounds the row (an optimum at a box vertex).
            if let (true, Some(i)) = (v > 0.0 && v.is_finite(), self.rows[t]) {
                y[i] += v;
            }
        }
        let p = Polytope { n: region.n_in, m: region.rows(), g: &region.a, h: &region.b, lower, upper };
        let (bound, _) = dual_bound(&p, c, &y);
        if bound.is_finite() {
            Some(bound)
        } else {
            None
        }
    }
}
