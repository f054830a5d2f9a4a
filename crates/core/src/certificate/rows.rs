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
///
/// Rows are looked up by a fingerprint (a fixed weighted sum of the coefficients, and the
/// right-hand side) and then compared bit for bit, so a match is exact whatever the fingerprint
/// does; the fingerprint of −a is exactly −(that of a) (rounding to nearest is symmetric), so
/// one table serves both sides. A CNN region has thousands of rows of hundreds of inputs, and
/// every patch support row is looked up per region: hashing whole rows cost more than the LPs.
pub(super) struct RowSet {
    n: usize,
    /// (fingerprint, right-hand side) bits → indices into `rows`.
    index: HashMap<(u64, u64), Vec<usize>>,
    /// (row, right-hand side, relaxation).
    rows: Vec<(Vec<f64>, f64, f64)>,
}

/// Weights of the fingerprint: fixed, irregular, all of one sign (so that no natural row sums
/// to 0 by symmetry).
fn weight(j: usize) -> f64 {
    1.0 + ((j as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 44) as f64 / (1u64 << 20) as f64
}

fn fingerprint(a: &[f64]) -> f64 {
    let mut s = 0.0;
    for (j, v) in a.iter().enumerate() {
        s += weight(j) * v;
    }
    // −0.0 and +0.0 (and the sign of an exact zero sum) compare equal.
    s + 0.0
}

/// Bit-for-bit equality of `a` with `sign · row` (zeros of either sign equal).
fn same(a: &[f64], row: &[f64], sign: f64) -> bool {
    a.len() == row.len() && a.iter().zip(row).all(|(x, y)| x + 0.0 == sign * y + 0.0)
}

impl RowSet {
    /// `relax[i]` (empty: none) is the relaxation of region row i; `region.b` holds the
    /// relaxed right-hand sides, `b_i − relax[i]` the original ones.
    pub(super) fn of_region(region: &LinearRegion, original_b: &[f64], relax: &[f64]) -> RowSet {
        let n = region.n_in;
        let mut set = RowSet { n, index: HashMap::new(), rows: Vec::new() };
        for i in 0..region.rows() {
            let rho = relax.get(i).cloned().unwrap_or(0.0);
            set.insert(region.a[i * n..(i + 1) * n].to_vec(), original_b[i], rho);
        }
        for j in 0..n {
            let mut e = vec![0.0; n];
            e[j] = 1.0;
            set.insert(e.clone(), region.upper[j], 0.0);
            e[j] = -1.0;
            set.insert(e, -region.lower[j], 0.0);
        }
        set
    }

    fn insert(&mut self, a: Vec<f64>, b: f64, rho: f64) {
        let key = (fingerprint(&a).to_bits(), (b + 0.0).to_bits());
        self.index.entry(key).or_default().push(self.rows.len());
        self.rows.push((a, b, rho));
    }

    /// The relaxation of the row equal to `sign · (a, b)`, if it is one of the set's.
    fn find(&self, a: &[f64], b: f64, fp: f64, sign: f64) -> Option<f64> {
        let key = ((sign * fp + 0.0).to_bits(), (sign * b + 0.0).to_bits());
        let hits = self.index.get(&key)?;
        // Equal rows (a box face that is also a region row): the tightest relaxation holds.
        hits.iter()
            .map(|&h| &self.rows[h])
            .filter(|(row, _, _)| same(row, a, sign))
            .map(|&(_, _, rho)| rho)
            .fold(None, |m: Option<f64>, r| Some(m.map_or(r, |v| v.min(r))))
    }

    pub(super) fn side(&self, a: &[f64], b: f64) -> RowSide {
        if a.len() != self.n {
            return RowSide::Other;
        }
        let fp = fingerprint(a);
        if let Some(rho) = self.find(a, b, fp, 1.0) {
            RowSide::Own(rho)
        } else if self.find(a, b, fp, -1.0) == Some(0.0) {
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
