//! Patch networks h_A (METHOD.md §2): a support network g_A that is 1 on a region and 0 beyond a
//! radius, gating a constant or an affine map.
//!
//!   support  g_A(x) = ReLU( Σ_i [ReLU(γ s_i + 1) − ReLU(γ s_i)] − m + 1 ),  s_i = b_i − a_i·x,
//!   constant patch  h_A(x) = d · g_A(x),
//!   affine patch    h_A(x) = ReLU(p + H g_A) − ReLU(p − H g_A) − H g_A,  p = C x + d.
//!
//! Rows are normalised, so r = 1/γ is a distance: g_A = 1 on the region, and g_A = 0 wherever
//! Σ_i (a_i·x − b_i)⁺ >= r — in particular wherever x lies r or more outside any single face.
//! No domain-wide constant K is involved, so locality does not depend on an input box.

use std::borrow::Cow;
use std::sync::Arc;

use crate::error::{invalid, Result};
use crate::linalg::dot;

/// Rows shared by many supports: the normalised rows of a network's first-layer neurons, which
/// are the same hyperplanes in every linear region (only their orientation depends on the
/// pattern). Row 2k is neuron k's row of an inactive neuron (`z_k <= 0`), row 2k + 1 its negation
/// (active: `−z_k <= 0`); both exactly as the region code normalises them (`s·v / ‖v‖`, and
/// negation is exact), so a support reading a row here evaluates bit for bit as with its own copy.
/// Held once per repaired network instead of once per patch (a 784-150-10 patch: 0.94 MB).
#[derive(Debug, Clone, PartialEq)]
pub struct RowTable {
    pub n_in: usize,
    /// `2·neurons × n_in`, row-major.
    pub rows: Vec<f64>,
}

impl RowTable {
    /// The table of the first `neurons` hidden neurons (pattern order) of `net`, from the
    /// linearisation of the all-inactive pattern (every row then has orientation +). A neuron
    /// with a constant pre-activation has no region row: its table rows are 0 and never matched.
    pub fn first_layer(net: &crate::network::Network, neurons: usize) -> Result<RowTable> {
        let hidden = net.hidden_count();
        if neurons > hidden {
            return invalid(format!("shared rows: {} neurons, the network has {} hidden", neurons, hidden));
        }
        let n = net.n_in();
        let lin = crate::network::linearise::linearise(net, &vec![0u8; hidden])?;
        let mut rows = vec![0.0; 2 * neurons * n];
        for (r, &k) in lin.neuron.iter().enumerate() {
            let k = k as usize;
            if k >= neurons {
                continue;
            }
            let (src, neg) = rows[2 * k * n..(2 * k + 2) * n].split_at_mut(n);
            lin.rows.copy_row(r, src);
            for (d, v) in neg.iter_mut().zip(src.iter()) {
                *d = -*v;
            }
        }
        Ok(RowTable { n_in: n, rows })
    }

    /// Number of table rows (two per neuron).
    pub fn len(&self) -> usize {
        self.rows.len() / self.n_in.max(1)
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    pub fn row(&self, i: usize) -> &[f64] {
        &self.rows[i * self.n_in..(i + 1) * self.n_in]
    }
}

/// Where a support keeps its rows: one support type, two storages.
#[derive(Debug, Clone, PartialEq)]
enum Storage {
    /// Every row stored (`m × n_in`): cheapest for small networks. Shared between clones of
    /// the support (rows are never changed in place): a certifier holds a copy of the repaired
    /// network, whose supports are a region's rows each — 12 MB per patch of the MNIST conv net.
    Dense(Arc<Vec<f64>>),
    /// Row i is `table` row `slot[i]` when that is below `table.len()`, otherwise row
    /// `slot[i] − table.len()` of `own` (rows not in the table: deeper neurons, input set).
    Shared { table: Arc<RowTable>, slot: Vec<u32>, own: Vec<f64> },
}

/// The support network g_A: rows `a_i·x <= b_i` (normalised, `m × n_in`) and the locality
/// radius r. The rows are stored densely or read from a shared [`RowTable`]; the evaluation is
/// the same either way (same row values, same operations), bit for bit.
#[derive(Debug, Clone, PartialEq)]
pub struct Support {
    pub n_in: usize,
    storage: Storage,
    pub b: Vec<f64>,
    pub radius: f64,
}

fn check_support(n_in: usize, b: &[f64], radius: f64, own: &[f64], offset: usize) -> Result<()> {
    if !(radius.is_finite() && radius > 0.0) {
        return invalid(format!("patch: radius {} must be finite and > 0", radius));
    }
    let _ = n_in;
    if let Some(i) = own.iter().chain(b).position(|v| !v.is_finite()) {
        return invalid(format!("patch: parameter {} is not finite", offset + i));
    }
    Ok(())
}

impl Support {
    /// A support may have no rows: a region with no neuron rows (one linear region on the whole
    /// box) has only the box, which the shared box gate carries (g = B then; without a gate g = 1).
    pub fn new(n_in: usize, a: Vec<f64>, b: Vec<f64>, radius: f64) -> Result<Support> {
        if a.len() != b.len() * n_in {
            return invalid(format!(
                "patch: support rows have {} values for {} rows of {} inputs",
                a.len(),
                b.len(),
                n_in
            ));
        }
        check_support(n_in, &b, radius, &a, 0)?;
        Ok(Support { n_in, storage: Storage::Dense(Arc::new(a)), b, radius })
    }

    /// Dense rows taken as they are (rows already checked elsewhere, e.g. a box gate's faces).
    pub(crate) fn from_dense(n_in: usize, a: Vec<f64>, b: Vec<f64>, radius: f64) -> Support {
        Support { n_in, storage: Storage::Dense(Arc::new(a)), b, radius }
    }

    /// A support whose row i is `table` row `slot[i]` (below `table.len()`) or row
    /// `slot[i] − table.len()` of `own`. Parameters are numbered as the list slot, own, b in
    /// messages.
    pub fn shared(table: Arc<RowTable>, slot: Vec<u32>, own: Vec<f64>, b: Vec<f64>, radius: f64) -> Result<Support> {
        let n_in = table.n_in;
        if slot.len() != b.len() {
            return invalid(format!("patch: {} row slots for {} rows", slot.len(), b.len()));
        }
        let t = table.len();
        let owned = own.len() / n_in.max(1);
        if own.len() != owned * n_in {
            return invalid(format!("patch: own support rows have {} values for rows of {} inputs", own.len(), n_in));
        }
        if let Some(i) = slot.iter().position(|&s| s as usize >= t + owned) {
            return invalid(format!("patch: row slot {} is {}, past {} table and {} own rows", i, slot[i], t, owned));
        }
        check_support(n_in, &b, radius, &own, slot.len())?;
        Ok(Support { n_in, storage: Storage::Shared { table, slot, own }, b, radius })
    }

    /// Whether the rows are read from a shared table.
    pub fn is_shared(&self) -> bool {
        matches!(self.storage, Storage::Shared { .. })
    }

    pub fn rows(&self) -> usize {
        self.b.len()
    }

    /// Row i, from wherever it is stored (the accessor every reader uses: the certificate reads
    /// shared rows through it without a copy).
    pub fn row(&self, i: usize) -> &[f64] {
        let n = self.n_in;
        match &self.storage {
            Storage::Dense(a) => &a[i * n..(i + 1) * n],
            Storage::Shared { table, slot, own } => {
                let s = slot[i] as usize;
                let t = table.len();
                if s < t {
                    table.row(s)
                } else {
                    &own[(s - t) * n..(s - t + 1) * n]
                }
            }
        }
    }

    /// All rows as one row-major `m × n_in` matrix: borrowed when stored densely, materialised
    /// (one copy of this support's rows) when shared.
    pub fn dense_rows(&self) -> Cow<'_, [f64]> {
        match &self.storage {
            Storage::Dense(a) => Cow::Borrowed(&a[..]),
            Storage::Shared { .. } => {
                let mut a = Vec::with_capacity(self.rows() * self.n_in);
                for i in 0..self.rows() {
                    a.extend_from_slice(self.row(i));
                }
                Cow::Owned(a)
            }
        }
    }

    /// The same support with every row stored densely (evaluates bit for bit the same).
    pub fn to_dense(&self) -> Support {
        Support {
            n_in: self.n_in,
            storage: Storage::Dense(Arc::new(self.dense_rows().into_owned())),
            b: self.b.clone(),
            radius: self.radius,
        }
    }

    /// g_A(x), exactly as the ReLU network computes it.
    pub fn value(&self, x: &[f64]) -> f64 {
        self.value_gated(x, 1.0)
    }

    /// g_A(x) with one more group of rows already summarised by `gate` ∈ [0, 1] (the shared box
    /// indicator): ReLU(Σ_i g_i + gate − m). Since each group value is the clamp of its own sum,
    /// this equals the support over all rows of both groups (exactly: both sides are 0 when
    /// either group is, and agree otherwise). `gate` = 1 gives the plain support.
    pub fn value_gated(&self, x: &[f64], gate: f64) -> f64 {
        if gate <= 0.0 {
            return 0.0;
        }
        let gamma = 1.0 / self.radius;
        let mut acc = 0.0;
        for i in 0..self.b.len() {
            let t = gamma * (self.b[i] - dot(self.row(i), x));
            if t <= -1.0 {
                // Both ReLUs of this row are 0 and the others contribute at most 1 each, so the
                // outer ReLU is exactly 0 (rounding is monotone): skip the remaining rows.
                return 0.0;
            }
            // ReLU(t + 1) − ReLU(t) is clamp(t + 1, 0, 1); evaluating the clamp form keeps it
            // exactly 1 inside the face (the difference of the ReLUs can round to 1 ± ulp), so
            // g_A is exactly 1 on the region and the patch is exactly p there.
            acc += if t >= 0.0 { 1.0 } else { t + 1.0 };
        }
        let g = acc + gate - self.b.len() as f64;
        if g > 0.0 {
            g
        } else {
            0.0
        }
    }
}

/// h_A = d·g_A: the same output shift wherever the support is 1.
#[derive(Debug, Clone, PartialEq)]
pub struct ConstantPatch {
    pub d: Vec<f64>,
}

impl ConstantPatch {
    /// ‖d‖_∞, the patch norm.
    pub fn norm(&self) -> f64 {
        self.d.iter().fold(0.0f64, |a, x| a.max(x.abs()))
    }
}

/// h_A = ReLU(p + H g_A) − ReLU(p − H g_A) − H g_A with p = C x + d (`c` is `n_out × n_in`):
/// exactly p where g_A = 1, clamped to [−H g_A, H g_A] in the band.
#[derive(Debug, Clone, PartialEq)]
pub struct AffinePatch {
    pub c: Vec<f64>,
    pub d: Vec<f64>,
    /// Clamp bounds H_j >= 0.
    pub h: Vec<f64>,
}

/// What a patch network adds where its support is 1.
#[derive(Debug, Clone, PartialEq)]
pub enum PatchMap {
    Constant(ConstantPatch),
    Affine(AffinePatch),
}

impl PatchMap {
    /// The constant part d (the whole map of a constant patch).
    pub fn d(&self) -> &[f64] {
        match self {
            PatchMap::Constant(p) => &p.d,
            PatchMap::Affine(p) => &p.d,
        }
    }

    pub fn d_mut(&mut self) -> &mut Vec<f64> {
        match self {
            PatchMap::Constant(p) => &mut p.d,
            PatchMap::Affine(p) => &mut p.d,
        }
    }

    pub fn n_out(&self) -> usize {
        self.d().len()
    }

    pub fn constant(&self) -> Option<&ConstantPatch> {
        match self {
            PatchMap::Constant(p) => Some(p),
            PatchMap::Affine(_) => None,
        }
    }

    pub fn is_constant(&self) -> bool {
        self.constant().is_some()
    }
}

/// The patch network h_A of one region: its support gating its map.
#[derive(Debug, Clone, PartialEq)]
pub struct PatchNetwork {
    pub support: Support,
    pub map: PatchMap,
}

impl PatchNetwork {
    /// Checks the map against the support's input size (parameters are numbered after the
    /// support's rows in messages, as one list a, b, C, d, H).
    pub fn new(support: Support, map: PatchMap) -> Result<PatchNetwork> {
        let (n_in, n_out) = (support.n_in, map.n_out());
        let offset = support.n_in * support.rows() + support.b.len();
        let params: Vec<&[f64]> = match &map {
            PatchMap::Constant(p) => vec![&p.d],
            PatchMap::Affine(p) => {
                if p.c.len() != n_in * n_out || p.h.len() != n_out {
                    return invalid(format!(
                        "patch: sizes of C ({}), d ({}) and H ({}) do not match {} outputs x {} inputs",
                        p.c.len(),
                        p.d.len(),
                        p.h.len(),
                        n_out,
                        n_in
                    ));
                }
                vec![&p.c, &p.d, &p.h]
            }
        };
        if let Some(i) = params.iter().flat_map(|v| v.iter()).position(|v| !v.is_finite()) {
            return invalid(format!("patch: parameter {} is not finite", offset + i));
        }
        if let PatchMap::Affine(p) = &map {
            if p.h.iter().any(|&v| v < 0.0) {
                return invalid("patch: clamp bounds H must be >= 0".to_string());
            }
        }
        Ok(PatchNetwork { support, map })
    }

    /// A constant patch d on `support`.
    pub fn constant(support: Support, d: Vec<f64>) -> Result<PatchNetwork> {
        PatchNetwork::new(support, PatchMap::Constant(ConstantPatch { d }))
    }

    pub fn n_in(&self) -> usize {
        self.support.n_in
    }

    pub fn n_out(&self) -> usize {
        self.map.n_out()
    }

    pub fn rows(&self) -> usize {
        self.support.rows()
    }

    /// y += h_A(x). Leaves y untouched (bit for bit) where g_A(x) = 0.
    pub fn add_to(&self, x: &[f64], y: &mut [f64]) {
        self.add_gated(x, 1.0, y)
    }

    /// y += h_A(x) with the box group summarised by `gate` (see [`Support::value_gated`]).
    pub fn add_gated(&self, x: &[f64], gate: f64, y: &mut [f64]) {
        let g = self.support.value_gated(x, gate);
        if g == 0.0 {
            return;
        }
        match &self.map {
            PatchMap::Constant(p) => {
                for (yj, dj) in y.iter_mut().zip(&p.d) {
                    *yj += dj * g;
                }
            }
            PatchMap::Affine(p) => {
                let n = self.support.n_in;
                for j in 0..p.d.len() {
                    let pj = dot(&p.c[j * n..(j + 1) * n], x) + p.d[j];
                    let hg = p.h[j] * g;
                    let up = if pj + hg > 0.0 { pj + hg } else { 0.0 };
                    let dn = if pj - hg > 0.0 { pj - hg } else { 0.0 };
                    y[j] += up - dn - hg;
                }
            }
        }
    }
}

/// Σ_i (a_i·x − b_i)⁺ for each point: the support is exactly 0 where this is >= r.
pub fn slack_excess(a: &[f64], b: &[f64], n: usize, xs: &[f64], out: &mut [f64]) {
    let m = b.len();
    for (p, o) in out.iter_mut().enumerate() {
        let x = &xs[p * n..(p + 1) * n];
        *o = (0..m).map(|i| (dot(&a[i * n..(i + 1) * n], x) - b[i]).max(0.0)).sum();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clones_share_dense_rows() {
        // A certifier clones the repaired network: the rows must not be copied with it.
        let s = Support::new(2, vec![1.0, 0.0, 0.0, 1.0], vec![1.0, 1.0], 0.5).unwrap();
        let c = s.clone();
        match (&s.storage, &c.storage) {
            (Storage::Dense(a), Storage::Dense(b)) => assert!(Arc::ptr_eq(a, b)),
            _ => panic!("dense storage expected"),
        }
        assert_eq!(c, s);
        assert_eq!(c.row(1), &[0.0, 1.0]);
    }

    #[test]
    fn support_is_one_inside_zero_beyond_the_radius() {
        // Unit square as four rows.
        let a = vec![1.0, 0.0, -1.0, 0.0, 0.0, 1.0, 0.0, -1.0];
        let b = vec![1.0, 0.0, 1.0, 0.0];
        let p = PatchNetwork::constant(Support::new(2, a.clone(), b.clone(), 0.5).unwrap(), vec![2.0]).unwrap();
        assert_eq!(p.support.value(&[0.5, 0.5]), 1.0);
        assert_eq!(p.support.value(&[1.0, 1.0]), 1.0);
        assert_eq!(p.support.value(&[1.5, 0.5]), 0.0);
        assert!((p.support.value(&[1.25, 0.5]) - 0.5).abs() < 1e-15);
        // Two faces each violated by r/2: the sum of excesses reaches r, so g = 0.
        assert_eq!(p.support.value(&[1.25, 1.25]), 0.0);
        let mut y = [-0.0];
        p.add_to(&[3.0, 3.0], &mut y);
        assert!(y[0] == 0.0 && y[0].is_sign_negative(), "untouched outside the support");
        let mut ex = [0.0; 2];
        slack_excess(&a, &b, 2, &[1.25, 1.25, 0.5, 0.5], &mut ex);
        assert_eq!(ex, [0.5, 0.0]);
    }

    #[test]
    fn affine_patch_is_exact_inside_and_clamped_in_the_band() {
        let a = vec![1.0, -1.0];
        let b = vec![1.0, 1.0]; // -1 <= x <= 1
        let map = PatchMap::Affine(AffinePatch { c: vec![2.0], d: vec![0.5], h: vec![2.5] });
        let p = PatchNetwork::new(Support::new(1, a, b, 1.0).unwrap(), map).unwrap();
        for &x in &[-1.0, -0.3, 0.0, 0.7, 1.0] {
            let mut y = [0.0];
            p.add_to(&[x], &mut y);
            assert!((y[0] - (2.0 * x + 0.5)).abs() < 1e-15);
        }
        let mut y = [0.0];
        p.add_to(&[1.5], &mut y); // g = 0.5, p = 3.5, clamp to H g = 1.25
        assert!((y[0] - 1.25).abs() < 1e-15);
    }

    #[test]
    fn bad_parameters_are_named() {
        let rows = || Support::new(1, vec![1.0, -1.0], vec![1.0, 1.0], 1.0).unwrap();
        let e = Support::new(1, vec![1.0, f64::NAN], vec![1.0, 1.0], 1.0).unwrap_err();
        assert_eq!(e.to_string(), "patch: parameter 1 is not finite");
        let e = Support::new(1, vec![1.0], vec![1.0, 1.0], 1.0).unwrap_err();
        assert!(e.to_string().contains("support rows have 1 values for 2 rows"), "{}", e);
        assert!(Support::new(1, vec![1.0], vec![1.0], 0.0).unwrap_err().to_string().contains("radius 0"));
        // Parameters are numbered as one list a, b, C, d, H.
        let e = PatchNetwork::constant(rows(), vec![f64::INFINITY]).unwrap_err();
        assert_eq!(e.to_string(), "patch: parameter 4 is not finite");
        let affine =
            |c: Vec<f64>, h: Vec<f64>| PatchNetwork::new(rows(), PatchMap::Affine(AffinePatch { c, d: vec![0.0], h }));
        assert_eq!(affine(vec![1.0], vec![f64::NAN]).unwrap_err().to_string(), "patch: parameter 6 is not finite");
        assert!(affine(vec![1.0, 2.0], vec![1.0]).unwrap_err().to_string().contains("sizes of C (2), d (1) and H (1)"));
        assert!(affine(vec![1.0], vec![-1.0]).unwrap_err().to_string().contains("clamp bounds H must be >= 0"));
    }
}
