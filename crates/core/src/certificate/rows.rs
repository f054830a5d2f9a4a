//! Rows of a region: its own defining rows (to recognise patch rows that coincide with them) and
//! the spec rows on its affine map.

use std::collections::HashMap;

use crate::linalg::{axpy, dot};
use crate::region::LinearRegion;
use crate::spec::Spec;

/// Where a row `a·x <= b` stands relative to a region, known by construction (no LP).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum RowSide {
    /// It is one of the region's rows: `a·x <= b + ρ` on the whole region, where ρ >= 0 is how far
    /// the certified set reaches across that row (0: the row holds exactly).
    Own(f64),
    /// Its negation is one of the region's exact rows: `a·x >= b` on the whole region.
    Opposite,
    /// Not known without an LP.
    Other,
}

/// The region's defining rows (neuron and input-set rows, and its box faces written as
/// `x_j <= u_j`, `−x_j <= −l_j`), bit for bit, each with its relaxation (see [`RowSide::Own`]).
/// A relaxed row is recognised by its unrelaxed right-hand side (the one a patch copies).
pub(super) struct RowSet {
    rows: HashMap<Vec<u64>, f64>,
}

fn row_key(a: &[f64], b: f64, sign: f64) -> Vec<u64> {
    // `+ 0.0` maps −0.0 to +0.0, so that zero coefficients compare equal whatever their sign.
    a.iter().chain(std::iter::once(&b)).map(|v| (sign * v + 0.0).to_bits()).collect()
}

impl RowSet {
    /// `relax[i]` (empty: none) is the relaxation of region row i; `region.b` holds the
    /// relaxed right-hand sides, `b_i − relax[i]` the original ones.
    pub(super) fn of_region(region: &LinearRegion, original_b: &[f64], relax: &[f64]) -> RowSet {
        let n = region.n_in;
        let mut rows = HashMap::new();
        for i in 0..region.rows() {
            let rho = relax.get(i).cloned().unwrap_or(0.0);
            rows.insert(row_key(&region.a[i * n..(i + 1) * n], original_b[i], 1.0), rho);
        }
        for j in 0..n {
            let mut e = vec![0.0; n];
            e[j] = 1.0;
            rows.insert(row_key(&e, region.upper[j], 1.0), 0.0);
            e[j] = -1.0;
            rows.insert(row_key(&e, -region.lower[j], 1.0), 0.0);
        }
        RowSet { rows }
    }

    pub(super) fn side(&self, a: &[f64], b: f64) -> RowSide {
        if let Some(&rho) = self.rows.get(&row_key(a, b, 1.0)) {
            RowSide::Own(rho)
        } else if self.rows.get(&row_key(a, b, -1.0)) == Some(&0.0) {
            RowSide::Opposite
        } else {
            RowSide::Other
        }
    }
}

/// The spec rows on the unpatched region, `rows × (n_in + 1)`: c_j = P_j F, then k0_j = P_j e − q_j.
pub(super) fn spec_rows_on(region: &LinearRegion, spec: &Spec) -> Vec<f64> {
    let (n, k) = (region.n_in, region.n_out);
    let mut base = vec![0.0; spec.rows() * (n + 1)];
    for j in 0..spec.rows() {
        let pj = spec.row(j);
        let bj = &mut base[j * (n + 1)..(j + 1) * (n + 1)];
        for o in 0..k {
            if pj[o] != 0.0 {
                axpy(pj[o], &region.f[o * n..(o + 1) * n], &mut bj[..n]);
            }
        }
        bj[n] = dot(pj, &region.e) - spec.q[j];
    }
    base
}
