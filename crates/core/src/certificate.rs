//! Certificates of a finished repaired network (METHOD.md §5): an independent proof that the
//! spec holds on a whole linear region of the original network, patches included.
//!
//! On a region A the original network is affine, f(x) = F x + e (from the activation pattern,
//! not from anything the repair computed). Every patch network is a small ReLU network of x:
//!
//!   u_i = ReLU(γ s_i + 1),  v_i = ReLU(γ s_i),  s_i = b_i − a_i·x,  γ = 1/r
//!   g   = ReLU(Σ_i (u_i − v_i) − m + 1)
//!   constant patch:  h = d·g
//!   affine patch:    h_o = ReLU(p_o + H_o g) − ReLU(p_o − H_o g) − H_o g,  p = C x + d
//!
//! So f̂ = f + Σ_B h_B restricted to A is a [`ReluProgram`]. Patches whose band cannot reach A
//! (some support row has s_i <= −r on all of A's bounding box, so g_B = 0 there exactly) are left
//! out. The explorer splits A into pieces on which every remaining ReLU has a fixed state (LP
//! decisions, see `enumerate.rs`), and on each piece every spec row P_j y − q_j is maximised by
//! LP. The certified (weak-duality) upper bound, plus the decision error budget Σ_k S_jk err_k
//! (S: Lipschitz bounds, err: how far a piece reaches across a hyperplane it was not split by,
//! rounding only), is the proven bound on the violation over the piece.
//!
//! A region is certified when that bound is <= tolerance on every piece and row, with
//! tolerance = rtol·(1 + Y) + 64·ε·M: Y is the magnitude of the terms of the original network's
//! spec row (|P_j e − q_j| + Σ_i |(P_j F)_i|·max|x_i| over the piece's bounding box), the scale
//! of the outputs themselves; M is the same magnitude for the piece's full row, patches included,
//! whose float64 construction (slacks scaled by γ = 1/r, which cancel) rounds at ε·M.

use std::collections::HashSet;

use crate::enumerate::{bounded_polytope, ExploreOptions, Explorer, ProgramNeuron, ReluProgram};
use crate::error::{invalid, Error, Result};
use crate::linalg::{axpy, dot};
use crate::patch::{BoxGate, PatchNetwork, Spec};
use crate::region::LinearRegion;

/// Rounding allowance, in units of f64::EPSILON times the magnitude of a piece row's terms, for
/// the float64 arithmetic that builds the pieces' affine maps (support slacks scaled by 1/r can
/// be large and cancel).
pub const MAP_ROUNDING: f64 = 64.0;

#[derive(Debug, Clone, Copy)]
pub struct CertifyOptions {
    /// Relative tolerance: certified when every violation bound <= rtol·(1 + Y) + 64·ε·M.
    pub rtol: f64,
    /// Decision slack in input units (0: split on every hyperplane the LP bounds cannot rule out).
    pub eps: f64,
    /// Error out when one region needs more pieces than this.
    pub max_pieces: usize,
    /// Bound constant patches with P_j·d <= 0 on every row by 0 instead of modelling them
    /// (sound; far fewer pieces). `false` models every patch whose band reaches the region.
    pub bound_helpful: bool,
    /// The constant patches are composed as a chain in patch order (`RepairedNetwork::chain`).
    pub chain: bool,
}

impl Default for CertifyOptions {
    fn default() -> Self {
        CertifyOptions { rtol: 1e-9, eps: 0.0, max_pieces: 100_000, bound_helpful: true, chain: false }
    }
}

#[derive(Debug, Clone)]
pub struct RegionCertificate {
    pub certified: bool,
    /// max over pieces and spec rows of the proven bound on P_j f̂(x) − q_j (<= tolerance: holds).
    pub max_violation: f64,
    /// The absolute tolerance the bound was compared with (largest over pieces and rows).
    pub tolerance: f64,
    /// Pieces the region was split into (ReLU states of the relevant patches fixed on each).
    pub pieces: usize,
    /// Cells the LP found empty (no point within its feasibility tolerance) or could not solve;
    /// a region with any is not certified.
    pub empty_pieces: usize,
    pub lps: usize,
    /// Indices of the patches whose band reaches the region: first the `exact_patches` modelled
    /// exactly (their band reaches the region, by LP), then constant patches with P_j·d <= 0 on
    /// every spec row whose band box meets the region's, which can only lower every row (bounded
    /// by 0, i.e. left out).
    pub patches: Vec<usize>,
    /// How many of `patches` (the first ones) are modelled exactly.
    pub exact_patches: usize,
    /// Spec row of `max_violation`.
    pub worst_row: usize,
    /// A point of the region where the piece map attains its largest violation, and that value.
    pub witness: Vec<f64>,
    pub witness_value: f64,
    /// Largest decision error budget added to a bound (rounding-level when all is well).
    pub error_budget: f64,
}

impl RegionCertificate {
    /// Nothing proven yet: no bound, no witness; `patches` relevant, the first `exact_patches`
    /// of them modelled exactly.
    fn open(patches: Vec<usize>, exact_patches: usize) -> RegionCertificate {
        RegionCertificate {
            certified: false,
            max_violation: f64::NEG_INFINITY,
            tolerance: 0.0,
            pieces: 0,
            empty_pieces: 0,
            lps: 0,
            exact_patches,
            patches,
            worst_row: 0,
            witness: Vec::new(),
            witness_value: f64::NEG_INFINITY,
            error_budget: 0.0,
        }
    }
}

/// Appends the patch network `p` to `neurons` as ReLU neurons of x: first the u_i, then the
/// v_i, then g (and the clamp pairs of an affine patch). Everything after the u's is gated by
/// them: where some u_i = ReLU(γ s_i + 1) is 0, Σ_i (u_i − v_i) <= m − 1 (each term is a clamp
/// to [0, 1] and this one is <= u_i = 0), so g = 0 and the patch adds exactly 0 whatever the
/// other rows do. Where u_i is only decided 0 up to err (it is <= err), g <= err and the patch
/// adds at most S_g·err, which the error budget S_u·err (S_u = S_g) already covers.
fn push_patch(neurons: &mut Vec<ProgramNeuron>, p: &PatchNetwork, rows: &RowSet, gate_neuron: Option<usize>) {
    push_patch_g(neurons, p, rows, gate_neuron, true);
}

/// [`push_patch`]; with `emit` false a constant patch's g gets no outputs (the chain weight
/// neuron carries d). Returns the index of g.
fn push_patch_g(neurons: &mut Vec<ProgramNeuron>, p: &PatchNetwork, rows: &RowSet, gate_neuron: Option<usize>, emit: bool) -> usize {
    let n = p.n_in;
    let gamma = 1.0 / p.radius;
    // Rows that are one of the region's own rows have s_i >= 0 on it: u_i − v_i = 1 exactly, so
    // they add 1 to the support sum and need no neurons. Rows that are the negation of one have
    // s_i <= 0: v_i = 0 exactly, only u_i remains. Known by construction, not by LP.
    let mut ones = 0usize;
    let mut live: Vec<(usize, bool)> = Vec::new();
    for i in 0..p.rows() {
        match rows.side(&p.a[i * n..(i + 1) * n], p.b[i]) {
            1 => ones += 1,
            -1 => live.push((i, false)),
            _ => live.push((i, true)),
        }
    }
    let m = p.rows();
    let first = neurons.len();
    let mut gate: Vec<usize> = (first..first + live.len()).collect();
    // With a shared box gate B, g = ReLU(Σ_i (u_i − v_i) + B − m): B = 0 switches it off too.
    gate.extend(gate_neuron);
    let slope = |i: usize| -> Vec<f64> { p.a[i * n..(i + 1) * n].iter().map(|v| -gamma * v).collect() };
    for &(i, _) in &live {
        neurons.push(ProgramNeuron { c: slope(i), c0: gamma * p.b[i] + 1.0, inputs: Vec::new(), outputs: Vec::new(), relu: true, gate: Vec::new(), known: None, slack: 0.0 });
    }
    let mut inputs: Vec<(usize, f64)> = (0..live.len()).map(|t| (first + t, 1.0)).collect();
    for &(i, with_v) in &live {
        if with_v {
            inputs.push((neurons.len(), -1.0));
            neurons.push(ProgramNeuron { c: slope(i), c0: gamma * p.b[i], inputs: Vec::new(), outputs: Vec::new(), relu: true, gate: gate.clone(), known: None, slack: 0.0 });
        }
    }
    let g = neurons.len();
    // Σ over the rows of (u_i − v_i) − m + 1 (or + B − m with a box gate), the known rows
    // contributing exactly 1 each.
    let c0 = match gate_neuron {
        Some(b) => {
            inputs.push((b, 1.0));
            (ones as f64) - (m as f64)
        }
        None => (ones as f64) - (m as f64) + 1.0,
    };
    neurons.push(ProgramNeuron { c: Vec::new(), c0, inputs, outputs: Vec::new(), relu: true, gate: gate.clone(), known: None, slack: 0.0 });
    if p.c.is_empty() {
        if emit {
            neurons[g].outputs = (0..p.n_out).filter(|&o| p.d[o] != 0.0).map(|o| (o, p.d[o])).collect();
        }
    } else {
        for o in 0..p.n_out {
            let c = p.c[o * n..(o + 1) * n].to_vec();
            let h = p.h[o];
            neurons.push(ProgramNeuron { c: c.clone(), c0: p.d[o], inputs: vec![(g, h)], outputs: vec![(o, 1.0)], relu: true, gate: gate.clone(), known: None, slack: 0.0 });
            neurons.push(ProgramNeuron { c, c0: p.d[o], inputs: vec![(g, -h)], outputs: vec![(o, -1.0)], relu: true, gate: gate.clone(), known: None, slack: 0.0 });
            if h != 0.0 {
                neurons[g].outputs.push((o, -h));
            }
        }
    }
    g
}

/// Appends the shared box indicator B(x) = ReLU(Σ_j [clamp(γ(u_j − x_j) + 1) + clamp(γ(x_j − l_j)
/// + 1)] − 2n + 1) as neurons (the support form with the 2n box faces as rows); returns B's index.
fn push_box_gate(neurons: &mut Vec<ProgramNeuron>, gate: &BoxGate, rows: &RowSet) -> usize {
    let n = gate.lower.len();
    let mut a = Vec::with_capacity(2 * n * n);
    let mut b = Vec::with_capacity(2 * n);
    for j in 0..n {
        let mut e = vec![0.0; n];
        e[j] = 1.0;
        a.extend_from_slice(&e);
        b.push(gate.upper[j]);
        e[j] = -1.0;
        a.extend_from_slice(&e);
        b.push(-gate.lower[j]);
    }
    // The same neurons as a constant patch with no outputs: its g is B.
    let as_patch = PatchNetwork { n_in: n, n_out: 0, a, b, radius: gate.radius, c: Vec::new(), d: Vec::new(), h: Vec::new() };
    push_patch(neurons, &as_patch, rows, None);
    neurons.len() - 1
}

/// The region's defining rows (neuron and input-set rows, and its box faces written as
/// `x_j <= u_j`, `−x_j <= −l_j`), bit for bit, to recognise patch rows that coincide with them.
pub struct RowSet {
    rows: HashSet<Vec<u64>>,
}

fn row_key(a: &[f64], b: f64, sign: f64) -> Vec<u64> {
    // `+ 0.0` maps −0.0 to +0.0, so that zero coefficients compare equal whatever their sign.
    a.iter().chain(std::iter::once(&b)).map(|v| (sign * v + 0.0).to_bits()).collect()
}

impl RowSet {
    pub fn of_region(region: &LinearRegion) -> RowSet {
        let n = region.n_in;
        let mut rows = HashSet::new();
        for i in 0..region.rows() {
            rows.insert(row_key(&region.a[i * n..(i + 1) * n], region.b[i], 1.0));
        }
        for j in 0..n {
            let mut e = vec![0.0; n];
            e[j] = 1.0;
            rows.insert(row_key(&e, region.upper[j], 1.0));
            e[j] = -1.0;
            rows.insert(row_key(&e, -region.lower[j], 1.0));
        }
        RowSet { rows }
    }

    /// 1 when `a·x <= b` is one of the rows (so it holds on the region), −1 when its negation is
    /// (so `a·x >= b` there), 0 otherwise.
    pub fn side(&self, a: &[f64], b: f64) -> i8 {
        if self.rows.contains(&row_key(a, b, 1.0)) {
            1
        } else if self.rows.contains(&row_key(a, b, -1.0)) {
            -1
        } else {
            0
        }
    }
}

/// Does the band of `p` reach the set {a x <= b} ∩ [lo, hi]? Decided by an LP: the maximum over
/// the set of t = min_i (b_i + r − a_i·x) (the support rows relaxed by r). When its certified
/// upper bound is <= 0, every point of the set has some a_i·x − b_i >= r, so g = 0 there exactly.
fn band_reaches(p: &PatchNetwork, a: &[f64], b: &[f64], lo: &[f64], hi: &[f64]) -> Result<bool> {
    let n = p.n_in;
    let nv = n + 1;
    let mut g = Vec::with_capacity((b.len() + p.rows()) * nv);
    let mut h = Vec::with_capacity(b.len() + p.rows());
    for i in 0..b.len() {
        g.extend_from_slice(&a[i * n..(i + 1) * n]);
        g.push(0.0);
        h.push(b[i]);
    }
    let mut span: f64 = 1.0;
    for i in 0..p.rows() {
        let row = &p.a[i * n..(i + 1) * n];
        g.extend_from_slice(row);
        g.push(1.0);
        h.push(p.b[i] + p.radius);
        let mut mag = p.b[i].abs() + p.radius;
        for j in 0..n {
            mag += row[j].abs() * lo[j].abs().max(hi[j].abs());
        }
        span = span.max(mag);
    }
    let mut l = lo.to_vec();
    let mut u = hi.to_vec();
    l.push(-2.0 * span);
    u.push(2.0 * span);
    let poly = crate::lp::Polytope::new(nv, &g, &h, &l, &u)?;
    let mut c = vec![0.0; nv];
    c[n] = 1.0;
    let sol = crate::lp::maximize(poly, &c).map_err(|e| match e {
        Error::Lp(m) => Error::Lp(format!("certificate: does a patch band reach the region: {}", m)),
        other => other,
    })?;
    Ok(sol.upper > 0.0)
}

/// Can the band of `p` reach the box [lo, hi]? False only when some support row has
/// a_i·x − b_i >= r on the whole box (then g = 0 there exactly).
pub fn patch_reaches_box(p: &PatchNetwork, lo: &[f64], hi: &[f64]) -> bool {
    let n = p.n_in;
    for i in 0..p.rows() {
        let row = &p.a[i * n..(i + 1) * n];
        let (mut mn, mut mag) = (-p.b[i], p.b[i].abs());
        for j in 0..n {
            let (s, t) = (row[j] * lo[j], row[j] * hi[j]);
            mn += s.min(t);
            mag += s.abs().max(t.abs());
        }
        if mn - 4.0 * (n + 2) as f64 * f64::EPSILON * mag >= p.radius {
            return false;
        }
    }
    true
}

/// A bounding box of the band of `p` (its support rows relaxed by r) inside [lower, upper], from
/// certified LP bounds; None when the LP cannot tell (then no box filter is applied).
pub fn band_box(p: &PatchNetwork, lower: &[f64], upper: &[f64]) -> Result<Option<(Vec<f64>, Vec<f64>)>> {
    let b: Vec<f64> = p.b.iter().map(|v| v + p.radius).collect();
    match bounded_polytope(p.n_in, &p.a, &b, lower, upper) {
        Ok(bp) => Ok(Some((bp.lower, bp.upper))),
        Err(Error::Lp(_)) => Ok(None),
        Err(e) => Err(e),
    }
}

/// Certifies `spec` on the linear region `region` of the original network for the repaired
/// network f + Σ patches.
pub fn certify_region(region: &LinearRegion, patches: &[PatchNetwork], spec: &Spec, opts: &CertifyOptions) -> Result<RegionCertificate> {
    certify_region_with(region, patches, None, &[], spec, opts)
}

/// [`certify_region`] for patches gated by a shared box indicator (`box_gate`, see
/// [`BoxGate`]), with precomputed [`band_box`]es of the patches (one per patch, or empty): a
/// patch whose band box misses the region's bounding box is not relevant, without an LP.
///
/// When the region fails with helpful patches bounded by 0, it is certified again with every
/// patch modelled exactly: that can only lower the bounds (neighbouring bands may be what makes
/// the spec hold) and its witness is a point of the real network.
pub fn certify_region_with(
    region: &LinearRegion,
    patches: &[PatchNetwork],
    box_gate: Option<&BoxGate>,
    band_boxes: &[Option<(Vec<f64>, Vec<f64>)>],
    spec: &Spec,
    opts: &CertifyOptions,
) -> Result<RegionCertificate> {
    if opts.chain && opts.bound_helpful {
        let small = CertifyOptions { max_pieces: opts.max_pieces.min(CHAIN_PIECE_BUDGET), ..*opts };
        match certify_convex(region, patches, band_boxes, spec, opts)? {
            Convex::Bound(c) => {
                if c.certified || c.pieces > EXACT_AFTER_CONVEX_PATCHES {
                    return Ok(c);
                }
                // The convex bound is loose where the real weights avoid a bad patch: decide by
                // the exact pieces (which also give a witness of the real network), within a small
                // piece budget; past it the convex result stands (its first `exact_patches`
                // patches are the candidates whose bound failed).
                return match certify_once(region, patches, box_gate, band_boxes, spec, &small) {
                    Ok(e) => Ok(e),
                    Err(Error::Invalid(_)) => Ok(c),
                    Err(e) => Err(e),
                };
            }
            Convex::NeedsPieces(relevant) => {
                // Affine patches reach the region: only the pieces can decide. With many patches,
                // or past the budget, the region is reported not certified (no bound), every
                // relevant patch a suspect for refinement.
                let outcome = if relevant.len() > EXACT_AFTER_CONVEX_PATCHES {
                    Err(Error::Invalid(String::new()))
                } else {
                    certify_once(region, patches, box_gate, band_boxes, spec, &small)
                };
                return match outcome {
                    Ok(e) => Ok(e),
                    Err(Error::Invalid(_)) => {
                        let mut c = RegionCertificate::open(relevant.clone(), relevant.len());
                        c.max_violation = f64::INFINITY;
                        c.pieces = small.max_pieces;
                        Ok(c)
                    }
                    Err(e) => Err(e),
                };
            }
            Convex::NotApplicable => {}
        }
    }
    let first = certify_once(region, patches, box_gate, band_boxes, spec, opts)?;
    if first.certified || !opts.bound_helpful || first.exact_patches == first.patches.len() {
        return Ok(first);
    }
    let exact = CertifyOptions { bound_helpful: false, ..*opts };
    match certify_once(region, patches, box_gate, band_boxes, spec, &exact) {
        Ok(mut second) => {
            second.lps += first.lps;
            Ok(second)
        }
        // Too many pieces when modelled exactly: the bounded result stands.
        Err(Error::Invalid(_)) => Ok(first),
        Err(e) => Err(e),
    }
}

/// The spec rows on the unpatched region, `rows × (n_in + 1)`: c_j = P_j F, then k0_j = P_j e − q_j.
fn spec_rows_on(region: &LinearRegion, spec: &Spec) -> Vec<f64> {
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

/// Every support row of `p` is a row of the region (same side): g = 1 on all of it.
fn covers_region(p: &PatchNetwork, own_rows: &RowSet) -> bool {
    let n = p.n_in;
    (0..p.rows()).all(|r| own_rows.side(&p.a[r * n..(r + 1) * n], p.b[r]) > 0)
}

/// The region's own patch in a chain: the last constant patch covering the region (every chain
/// patch before it has weight 0 there).
fn own_chain_patch(patches: &[PatchNetwork], own_rows: &RowSet) -> Option<usize> {
    (0..patches.len()).rev().find(|&i| patches[i].c.is_empty() && covers_region(&patches[i], own_rows))
}

/// Constant patches whose support rows are rows of the region or axis-aligned cuts
/// (`±x_j <= c`), and whose cut boxes tile the region's bounding box [lo, hi] (pairwise disjoint
/// interiors, volumes summing to the box's): on every point of the region one of them has
/// support 1. Sorted indices, or empty when there is no such tiling.
fn tiling_cells(patches: &[PatchNetwork], own_rows: &RowSet, n: usize, lo: &[f64], hi: &[f64]) -> Vec<usize> {
    if (0..n).any(|j| !(hi[j] > lo[j])) {
        return Vec::new();
    }
    let mut cells: Vec<(usize, Vec<f64>, Vec<f64>)> = Vec::new();
    for (i, p) in patches.iter().enumerate() {
        if !p.c.is_empty() {
            continue;
        }
        let (mut l, mut u) = (lo.to_vec(), hi.to_vec());
        let mut cuts = 0;
        let mut ok = true;
        for r in 0..p.rows() {
            let a = &p.a[r * n..(r + 1) * n];
            if own_rows.side(a, p.b[r]) > 0 {
                continue;
            }
            let nz: Vec<usize> = (0..n).filter(|&j| a[j] != 0.0).collect();
            if nz.len() == 1 && a[nz[0]] == 1.0 {
                u[nz[0]] = u[nz[0]].min(p.b[r]);
            } else if nz.len() == 1 && a[nz[0]] == -1.0 {
                l[nz[0]] = l[nz[0]].max(-p.b[r]);
            } else {
                ok = false;
                break;
            }
            cuts += 1;
        }
        if ok && cuts > 0 && (0..n).all(|j| u[j] > l[j]) {
            cells.push((i, l, u));
        }
    }
    let volume = |l: &[f64], u: &[f64]| (0..n).map(|j| (u[j] - l[j]) / (hi[j] - lo[j])).product::<f64>();
    let total: f64 = cells.iter().map(|(_, l, u)| volume(l, u)).sum();
    if cells.len() < 2 || (total - 1.0).abs() > 1e-9 {
        return Vec::new();
    }
    for x in 0..cells.len() {
        for y in x + 1..cells.len() {
            let (_, l1, u1) = &cells[x];
            let (_, l2, u2) = &cells[y];
            if (0..n).all(|j| u1[j] > l2[j] && u2[j] > l1[j]) {
                return Vec::new();
            }
        }
    }
    cells.into_iter().map(|(i, _, _)| i).collect()
}

/// In a chain, regions whose convex bound fails are certified by pieces only when at most this
/// many patches reach them (else the splitting is too costly and the convex result stands).
const EXACT_AFTER_CONVEX_PATCHES: usize = 6;
/// Piece budget of those exact certificates in a chain (the refinement then acts on the suspects).
const CHAIN_PIECE_BUDGET: usize = 1000;

enum Convex {
    /// The convex bound (certified or not).
    Bound(RegionCertificate),
    /// Some relevant patch is affine (summed): these patches reach the region.
    NeedsPieces(Vec<usize>),
    NotApplicable,
}

/// The convexity certificate of a chain (METHOD.md §4): on a region where every patch whose band
/// reaches it is a constant chain patch, the output at x is f(x) + Σ_i λ_i d_i with λ convex
/// weights (Σ = 1 with an own patch, <= 1 with the rest on "no patch") carried only by the own
/// patch and the later patches whose band covers x, and every band lies in {A_i x <= b_i + r_i}.
/// So P_j f̂(x) − q_j <= max over those candidates c of max over R ∩ band_c of P_j (F x + e + d_c)
/// − q_j: one LP per candidate and row, no splitting. None when some relevant patch is not a
/// constant chain patch (`NeedsPieces`: the exact pieces must decide). A bound that fails here is
/// not final: the caller certifies the region again by pieces when that is affordable.
fn certify_convex(region: &LinearRegion, patches: &[PatchNetwork], band_boxes: &[Option<(Vec<f64>, Vec<f64>)>], spec: &Spec, opts: &CertifyOptions) -> Result<Convex> {
    let n = region.n_in;
    let k = region.n_out;
    if spec.k != k || patches.iter().any(|p| p.n_in != n || p.n_out != k) {
        return Ok(Convex::NotApplicable);
    }
    let bp = bounded_polytope(n, &region.a, &region.b, &region.lower, &region.upper).map_err(|e| match e {
        Error::Lp(m) => Error::Lp(format!("certificate: bounding box of the region: {}", m)),
        other => other,
    })?;
    let own_rows = RowSet::of_region(region);
    let is_chain = |p: &PatchNetwork| p.c.is_empty();
    let own = own_chain_patch(patches, &own_rows);
    // Without one covering patch, cells that tile the region play its part (their union has
    // g = 1 everywhere on it).
    let cells = if own.is_none() { tiling_cells(patches, &own_rows, n, &bp.lower, &bp.upper) } else { Vec::new() };
    let first_own = own.or_else(|| cells.first().cloned());
    let mut lps = bp.lps;
    let mut later: Vec<usize> = Vec::new();
    let mut affine = false;
    // A later chain patch with P_j·d_i <= P_j·d_own on every row (<= 0 without an own patch;
    // <= the smallest over the cells with cells) cannot raise the bound of the own candidate (of
    // "no patch", of the cell whose support is 1 at x) anywhere in the region: it is left out,
    // with no LP (label specs in increasing order: every later patch).
    let reference: Vec<f64> = (0..spec.rows())
        .map(|j| match own {
            Some(o) => dot(spec.row(j), &patches[o].d),
            None if !cells.is_empty() => cells.iter().map(|&c| dot(spec.row(j), &patches[c].d)).fold(f64::INFINITY, f64::min),
            None => 0.0,
        })
        .collect();
    let dominated = |p: &PatchNetwork| (0..spec.rows()).all(|j| dot(spec.row(j), &p.d) <= reference[j]);
    let mut bounded: Vec<usize> = Vec::new();
    for (i, p) in patches.iter().enumerate() {
        if Some(i) == own || (is_chain(p) && first_own.map_or(false, |o| i < o)) {
            continue;
        }
        if cells.contains(&i) {
            later.push(i);
            continue;
        }
        if let Some(Some((blo, bhi))) = band_boxes.get(i) {
            if (0..n).any(|j| bhi[j] < bp.lower[j] || bp.upper[j] < blo[j]) {
                continue;
            }
        }
        if !patch_reaches_box(p, &bp.lower, &bp.upper) {
            continue;
        }
        if is_chain(p) && dominated(p) {
            bounded.push(i);
            continue;
        }
        lps += 1;
        if !band_reaches(p, &bp.a, &bp.b, &bp.lower, &bp.upper)? {
            continue;
        }
        affine |= !is_chain(p);
        later.push(i);
    }
    if affine {
        return Ok(Convex::NeedsPieces(own.iter().chain(later.iter()).cloned().collect()));
    }
    let rows = spec.rows();
    let mut cert = RegionCertificate::open(own.iter().chain(later.iter()).chain(bounded.iter()).cloned().collect(), 0);
    let zero = vec![0.0; k];
    // Candidates: the own patch on the whole region (or no patch, unless cells tile it), then
    // each later patch (and cell) on the region's part of its relaxed support.
    let mut candidates: Vec<(Option<usize>, &[f64])> = Vec::new();
    if cells.is_empty() {
        candidates.push((own, own.map_or(&zero[..], |o| &patches[o].d[..])));
    }
    candidates.extend(later.iter().map(|&i| (Some(i), &patches[i].d[..])));
    let mut tolerance: f64 = 0.0;
    let base_rows = spec_rows_on(region, spec);
    let mut bounds = vec![f64::NEG_INFINITY; candidates.len()];
    for (ci, &(which, d)) in candidates.iter().enumerate() {
        let (mut a, mut b) = (bp.a.clone(), bp.b.clone());
        if which.is_some() && which != own {
            let p = &patches[which.unwrap()];
            a.extend_from_slice(&p.a);
            b.extend(p.b.iter().map(|v| v + p.radius));
        }
        let poly = crate::lp::Polytope::new(n, &a, &b, &bp.lower, &bp.upper)?;
        let mut sx = crate::lp::Simplex::new(poly);
        cert.pieces += 1;
        for j in 0..rows {
            let c = &base_rows[j * (n + 1)..j * (n + 1) + n];
            let base = base_rows[j * (n + 1) + n];
            let constant = base + dot(spec.row(j), d);
            let sol = match sx.maximize(c) {
                Ok(sol) => sol,
                Err(Error::Lp(_)) => return Ok(Convex::NotApplicable),
                Err(e) => return Err(e),
            };
            lps += 1;
            let bound = sol.upper + constant;
            bounds[ci] = bounds[ci].max(bound);
            let (mut mag, mut base_mag) = (constant.abs(), base.abs());
            for i in 0..n {
                let x = bp.lower[i].abs().max(bp.upper[i].abs());
                mag += c[i].abs() * x;
                base_mag += c[i].abs() * x;
            }
            tolerance = tolerance.max(opts.rtol * (1.0 + base_mag) + MAP_ROUNDING * f64::EPSILON * mag);
            if bound > cert.max_violation {
                cert.max_violation = bound;
                cert.worst_row = j;
            }
            let value = sol.lower + constant;
            if value > cert.witness_value {
                cert.witness_value = value;
                cert.witness = sol.x.clone();
            }
        }
    }
    cert.lps = lps;
    cert.tolerance = tolerance;
    cert.certified = cert.max_violation <= cert.tolerance;
    // Patches: first the candidates whose bound fails (`exact_patches` of them), then the rest.
    let failing: Vec<usize> = (0..candidates.len()).filter(|&ci| bounds[ci] > tolerance).filter_map(|ci| candidates[ci].0).collect();
    let rest: Vec<usize> = cert.patches.iter().cloned().filter(|p| !failing.contains(p)).collect();
    cert.exact_patches = failing.len();
    cert.patches = failing.into_iter().chain(rest).collect();
    Ok(Convex::Bound(cert))
}

fn certify_once(
    region: &LinearRegion,
    patches: &[PatchNetwork],
    box_gate: Option<&BoxGate>,
    band_boxes: &[Option<(Vec<f64>, Vec<f64>)>],
    spec: &Spec,
    opts: &CertifyOptions,
) -> Result<RegionCertificate> {
    let n = region.n_in;
    let k = region.n_out;
    if spec.k != k {
        return invalid(format!("certificate: the spec has {} outputs, the network has {}", spec.k, k));
    }
    if let Some(i) = patches.iter().position(|p| p.n_in != n || p.n_out != k) {
        return invalid(format!("certificate: patch {} maps {} inputs to {} outputs, the network has {} and {}", i, patches[i].n_in, patches[i].n_out, n, k));
    }
    if !(opts.rtol.is_finite() && opts.rtol >= 0.0) {
        return invalid(format!("certificate: tolerance {} must be finite and >= 0", opts.rtol));
    }
    let bp = bounded_polytope(n, &region.a, &region.b, &region.lower, &region.upper).map_err(|e| match e {
        Error::Lp(m) => Error::Lp(format!("certificate: bounding box of the region: {}", m)),
        other => other,
    })?;
    let own_rows = RowSet::of_region(region);
    let mut bounded: Vec<usize> = Vec::new();
    let mut exact: Vec<usize> = Vec::new();
    let mut lps = bp.lps;
    let sx = bp.simplex;
    let (lo, hi) = (bp.lower.clone(), bp.upper.clone());
    // Chain composition: the last constant patch whose support is 1 on the whole region (every
    // row one of the region's rows) is the region's own patch k; every chain patch before it
    // has weight ReLU(g_i − U_{i+1}) = 0 there (U_{i+1} >= g_k = 1) and is left out. The
    // output is f + a convex combination of the chain patches from k on whose band covers x.
    let is_chain = |p: &PatchNetwork| opts.chain && p.c.is_empty();
    let covers = |p: &PatchNetwork| covers_region(p, &own_rows);
    let own = if opts.chain { own_chain_patch(patches, &own_rows) } else { None };
    let mut chain_later: Vec<usize> = Vec::new();
    for (i, p) in patches.iter().enumerate() {
        if is_chain(p) && own.map_or(false, |k| i < k) {
            continue;
        }
        if let Some(Some((blo, bhi))) = band_boxes.get(i) {
            if (0..n).any(|j| bhi[j] < lo[j] || hi[j] < blo[j]) {
                continue;
            }
        }
        if !patch_reaches_box(p, &bp.lower, &bp.upper) {
            continue;
        }
        if is_chain(p) {
            if Some(i) == own {
                exact.push(i);
                continue;
            }
            lps += 1;
            if band_reaches(p, &bp.a, &bp.b, &bp.lower, &bp.upper)? {
                chain_later.push(i);
            }
            continue;
        }
        // A constant patch with P_j·d <= 0 on every row adds (P_j·d)·g <= 0: leaving it out can
        // only raise the bounds (sound), and saves an LP and splitting the region along its band.
        // It is kept when its support provably covers the whole region (every row one of the
        // region's rows: g = 1 there, no split — the region's own patch). A region failing this
        // way is certified again with every patch exact (see certify_region_with).
        let helpful = opts.bound_helpful && p.c.is_empty() && (0..spec.rows()).all(|j| dot(spec.row(j), &p.d) <= 0.0);
        if helpful && !covers(p) {
            bounded.push(i);
            continue;
        }
        lps += 1;
        if !band_reaches(p, &bp.a, &bp.b, &bp.lower, &bp.upper)? {
            continue;
        }
        exact.push(i);
    }
    // Chain patches are modelled exactly here (bounding by domination is the convex tier's job,
    // see certify_convex).
    exact.extend(chain_later.iter().cloned());
    exact.sort_unstable();
    let mut neurons = Vec::new();
    let gate_neuron = match box_gate {
        Some(g) if !exact.is_empty() => {
            if g.lower.len() != n {
                return invalid(format!("certificate: the box gate has {} bounds, the network has {} inputs", g.lower.len(), n));
            }
            Some(push_box_gate(&mut neurons, g, &own_rows))
        }
        _ => None,
    };
    // Chain patches: their supports g_i, then the weights w_i = ReLU(g_i − Σ_{l > i} w_l) from
    // the last one back (only patches that reach the region: the others have g = w = 0 here).
    let mut chain_g: Vec<(usize, usize)> = Vec::new();
    for &i in &exact {
        let g = push_patch_g(&mut neurons, &patches[i], &own_rows, gate_neuron, !is_chain(&patches[i]));
        if is_chain(&patches[i]) {
            chain_g.push((i, g));
        }
    }
    let mut later_w: Vec<usize> = Vec::new();
    // (w neuron, chain patch) from the last patch back.
    let mut chain_w: Vec<(usize, usize)> = Vec::new();
    for &(i, g) in chain_g.iter().rev() {
        chain_w.push((neurons.len(), i));
        let p = &patches[i];
        let mut inputs = vec![(g, 1.0)];
        inputs.extend(later_w.iter().map(|&w| (w, -1.0)));
        let mut gate = neurons[g].gate.clone();
        gate.push(g);
        later_w.push(neurons.len());
        neurons.push(ProgramNeuron {
            c: Vec::new(),
            c0: 0.0,
            inputs,
            outputs: (0..p.n_out).filter(|&o| p.d[o] != 0.0).map(|o| (o, p.d[o])).collect(),
            relu: true,
            gate,
            known: None,
            slack: 0.0,
        });
    }
    let mut program = ReluProgram { n_in: n, n_out: k, neurons, f: region.f.clone(), e: region.e.clone() };
    let rows = spec.rows();
    // The weights w_i are increments of a running maximum, which is 1-Lipschitz: an error δ in
    // w_i (or g_i) moves P_j out by at most (|P_j d_i| + max over earlier chain patches l of
    // |P_j d_l|)·δ — the change of U_i reaches the earlier weights only by shifting at most δ of
    // weight among them. The plain sum over consumers would double at every link.
    let mut chain_sens: std::collections::HashMap<usize, Vec<f64>> = std::collections::HashMap::new();
    {
        let mut earlier_max = vec![0.0f64; rows];
        for &(wn, i) in chain_w.iter().rev() {
            let c: Vec<f64> = (0..rows).map(|j| dot(spec.row(j), &patches[i].d).abs()).collect();
            chain_sens.insert(wn, (0..rows).map(|j| c[j] + earlier_max[j]).collect());
            for j in 0..rows {
                earlier_max[j] = earlier_max[j].max(c[j]);
            }
        }
    }
    let sens = program.sensitivities_with(&spec.p, rows, &|k, j| chain_sens.get(&k).map(|v| v[j]));
    let nn = program.neurons.len();
    // P_j · out_k per neuron and row.
    let mut pout = vec![0.0; nn * rows];
    for (kk, neuron) in program.neurons.iter().enumerate() {
        for j in 0..rows {
            pout[kk * rows + j] = neuron.outputs.iter().map(|&(o, w)| spec.p[j * k + o] * w).sum();
        }
    }
    let base = spec_rows_on(region, spec);
    // Decision slack per neuron, so that the whole error budget stays below 1 % of the smallest
    // rtol part of the tolerance (no splitting off slivers thinner than that).
    let mut floor = f64::INFINITY;
    for j in 0..rows {
        let bj = &base[j * (n + 1)..(j + 1) * (n + 1)];
        let mut mag = bj[n].abs();
        for i in 0..n {
            mag += bj[i].abs() * lo[i].abs().max(hi[i].abs());
        }
        floor = floor.min(opts.rtol * (1.0 + mag));
    }
    for kk in 0..nn {
        let s_max = (0..rows).map(|j| sens[kk * rows + j]).fold(0.0f64, f64::max);
        program.neurons[kk].slack = if s_max > 0.0 && floor.is_finite() { 0.01 * floor / (s_max * nn as f64) } else { 0.0 };
    }
    let root = crate::enumerate::BoxedPolytope { a: bp.a, b: bp.b, lower: lo, upper: hi, simplex: sx, lps: 0 };
    let mut ex = Explorer::from_polytope(program, root, ExploreOptions { eps: opts.eps, rtol: 0.0 })?;
    let w = n + 1;
    let mut cert = RegionCertificate::open(exact.iter().chain(bounded.iter()).cloned().collect(), exact.len());
    let mut tolerance: f64 = 0.0;
    let mut broken = 0usize;
    let mut lp_count = lps;
    let mut row = vec![0.0; w];
    while let Some(mut piece) = ex.next_piece()? {
        cert.pieces += 1;
        if cert.pieces > opts.max_pieces {
            return invalid(format!(
                "certificate: the region splits into more than {} pieces (raise the piece limit, or use fewer or smaller-radius patches)",
                opts.max_pieces
            ));
        }
        for j in 0..rows {
            row.copy_from_slice(&base[j * w..(j + 1) * w]);
            let mut budget = 0.0;
            for kk in 0..nn {
                let c = pout[kk * rows + j];
                if c != 0.0 && piece.states[kk] != 0 {
                    axpy(c, &piece.maps[kk * w..(kk + 1) * w], &mut row);
                }
                budget += sens[kk * rows + j] * piece.err[kk];
            }
            let sol = match piece.simplex.maximize(&row[..n]) {
                Ok(sol) => sol,
                Err(Error::Lp(_)) => {
                    // The LP breaks down on this piece (a sliver at the limit of its feasibility
                    // tolerance): no bound, so the region cannot be certified.
                    broken += 1;
                    break;
                }
                Err(e) => return Err(e),
            };
            lp_count += 1;
            let bound = sol.upper + row[n] + budget;
            let (mut mag, mut base_mag) = (row[n].abs(), base[j * w + n].abs());
            for i in 0..n {
                let x = piece.lower[i].abs().max(piece.upper[i].abs());
                mag += row[i].abs() * x;
                base_mag += base[j * w + i].abs() * x;
            }
            tolerance = tolerance.max(opts.rtol * (1.0 + base_mag) + MAP_ROUNDING * f64::EPSILON * mag);
            cert.error_budget = cert.error_budget.max(budget);
            if bound > cert.max_violation {
                cert.max_violation = bound;
                cert.worst_row = j;
            }
            let value = sol.lower + row[n];
            if value > cert.witness_value {
                cert.witness_value = value;
                cert.witness = sol.x.clone();
            }
        }
    }
    cert.empty_pieces = ex.empty + broken;
    cert.lps = lp_count + ex.lps;
    cert.tolerance = tolerance;
    cert.certified = cert.pieces > 0 && cert.empty_pieces == 0 && cert.max_violation <= cert.tolerance;
    Ok(cert)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::enumerate::{EnumerateOptions, RegionEnumerator};
    use crate::network::tests::{random_network, Rng};
    use crate::network::Network;
    use crate::patch::minimal_patch;
    use crate::repaired::RepairedNetwork;

    fn constant_patch(region: &LinearRegion, d: Vec<f64>, radius: f64) -> PatchNetwork {
        let (a, b) = region.support_rows(1e-9, true).unwrap();
        PatchNetwork::new(region.n_in, region.n_out, a, b, radius, vec![], d, vec![]).unwrap()
    }

    fn argmax(y: &[f64]) -> usize {
        (0..y.len()).fold(0, |b, i| if y[i] > y[b] { i } else { b })
    }

    /// Area repair of a random 2-D network in miniature: every region of the box that violates a
    /// label spec gets its minimal constant patch.
    fn repaired_area(seed: u64, radius: f64) -> (Network, Vec<LinearRegion>, RepairedNetwork, Spec, usize) {
        let mut rng = Rng(seed);
        let net = random_network(&mut rng, &[2, 8, 8, 3]);
        let lo = [-1.0, -1.0];
        let hi = [1.0, 1.0];
        let mut en = RegionEnumerator::new(&net, &lo, &hi, &[], &[], EnumerateOptions { eps: 1e-9, min_radius: 1e-9, max_regions: 10_000 }).unwrap();
        en.run().unwrap();
        let h = en.hidden();
        let spec = Spec::label(3, 1, 0.0).unwrap();
        let mut rep = RepairedNetwork::new(net.clone());
        let mut regions = Vec::new();
        let mut repaired = 0;
        for r in 0..en.count() {
            let region = LinearRegion::of_pattern(&net, en.patterns[r * h..(r + 1) * h].to_vec(), &lo, &hi).unwrap();
            let mp = minimal_patch(&region, &spec).unwrap();
            if mp.proof != crate::patch::Proof::NotNeeded {
                rep.add_patch(constant_patch(&region, mp.d.clone(), radius)).unwrap();
                repaired += 1;
            }
            regions.push(region);
        }
        (net, regions, rep, spec, repaired)
    }

    #[test]
    fn a_sound_area_repair_is_certified_on_every_region() {
        for seed in [3u64, 4, 5] {
            let (net, regions, rep, spec, repaired) = repaired_area(seed, 0.05);
            assert!(repaired > 0 && repaired < regions.len(), "seed {}: {} of {}", seed, repaired, regions.len());
            let mut bounded = 0;
            for (ri, region) in regions.iter().enumerate() {
                let c = certify_region(region, &rep.patches, &spec, &CertifyOptions::default()).unwrap();
                assert!(c.certified, "seed {} region {}: violation {} > tolerance {}", seed, ri, c.max_violation, c.tolerance);
                assert!(c.error_budget <= c.tolerance);
                assert_eq!(c.empty_pieces, 0);
                if c.patches.len() > c.exact_patches {
                    bounded += 1;
                }
            }
            assert!(bounded > 0, "neighbouring bands reach some regions and are bounded by 0");
            // Sampling agrees: label 1 wins everywhere in the box.
            let mut rng = Rng(seed + 100);
            for _ in 0..3000 {
                let x = [rng.range(-1.0, 1.0), rng.range(-1.0, 1.0)];
                let mut y = [0.0; 3];
                rep.forward(&x, &mut y);
                assert!(spec.violation(&y) <= 1e-9, "seed {}: x {:?} y {:?}", seed, x, y);
            }
            let _ = net;
        }
    }

    #[test]
    fn exact_pieces_agree_with_the_bounded_certificate_and_with_sampling() {
        // Every patch modelled exactly: regions split along neighbouring bands, and the pieces'
        // affine maps are the repaired network (checked at sample points of every piece).
        let (_net, regions, rep, spec, _) = repaired_area(5, 0.01);
        let exact = CertifyOptions { bound_helpful: false, ..CertifyOptions::default() };
        let mut split = 0;
        for region in &regions {
            let c = certify_region(region, &rep.patches, &spec, &exact).unwrap();
            assert!(c.certified, "{:?}", c);
            assert_eq!(c.exact_patches, c.patches.len());
            if c.pieces > 1 {
                split += 1;
            }
            let mut y = [0.0; 3];
            rep.forward(&c.witness, &mut y);
            let v = spec.violation(&y);
            assert!((v - c.witness_value).abs() < 1e-9 * (1.0 + v.abs()), "piece map {} vs network {}", c.witness_value, v);
        }
        assert!(split > 0, "bands of neighbouring patches split some regions");
    }

    #[test]
    fn patches_gated_by_a_shared_box_indicator_are_certified_exactly() {
        // Supports without box rows, one box gate for all (as point-wise repair builds them).
        let mut rng = Rng(6);
        let net = random_network(&mut rng, &[2, 8, 8, 3]);
        let lo = [-1.0, -1.0];
        let hi = [1.0, 1.0];
        let mut en = RegionEnumerator::new(&net, &lo, &hi, &[], &[], EnumerateOptions { eps: 1e-9, min_radius: 1e-9, max_regions: 10_000 }).unwrap();
        en.run().unwrap();
        let h = en.hidden();
        let spec = Spec::label(3, 2, 0.0).unwrap();
        let mut rep = RepairedNetwork::new(net.clone());
        let radius = 0.01;
        rep.set_box_gate(BoxGate::new(lo.to_vec(), hi.to_vec(), radius).unwrap()).unwrap();
        let mut regions = Vec::new();
        for r in 0..en.count() {
            let region = LinearRegion::of_pattern(&net, en.patterns[r * h..(r + 1) * h].to_vec(), &lo, &hi).unwrap();
            let mp = minimal_patch(&region, &spec).unwrap();
            if mp.proof != crate::patch::Proof::NotNeeded {
                let (a, b) = region.support_rows(1e-9, false).unwrap();
                rep.add_patch(PatchNetwork::new(2, 3, a, b, radius, vec![], mp.d.clone(), vec![]).unwrap()).unwrap();
            }
            regions.push(region);
        }
        assert!(rep.patches.len() > 1);
        let exact = CertifyOptions { bound_helpful: false, ..CertifyOptions::default() };
        let mut split = 0;
        for region in &regions {
            for o in [CertifyOptions::default(), exact] {
                let c = certify_region_with(region, &rep.patches, rep.box_gate.as_ref(), &[], &spec, &o).unwrap();
                assert!(c.certified, "{:?}", c);
                if c.exact_patches > 0 {
                    let mut y = [0.0; 3];
                    rep.forward(&c.witness, &mut y);
                    let v = spec.violation(&y);
                    if !o.bound_helpful {
                        assert!((v - c.witness_value).abs() < 1e-9 * (1.0 + v.abs()), "piece map {} vs network {}", c.witness_value, v);
                        split += (c.pieces > 1) as usize;
                    }
                }
            }
        }
        assert!(split > 0);
    }

    #[test]
    fn a_broken_patch_is_not_certified_and_the_witness_violates() {
        let (_net, regions, mut rep, spec, _) = repaired_area(3, 0.01);
        // Shrink one patch to 30 % of its minimal size: its region must fail, with a witness.
        let target = 0;
        for v in rep.patches[target].d.iter_mut() {
            *v *= 0.3;
        }
        let p = rep.patches[target].clone();
        let mut failed = 0;
        let exact = CertifyOptions { bound_helpful: false, ..CertifyOptions::default() };
        for region in &regions {
            let c = certify_region(region, &rep.patches, &spec, &CertifyOptions::default()).unwrap();
            let e = certify_region(region, &rep.patches, &spec, &exact).unwrap();
            assert!(e.certified || !c.certified, "bounding helpful patches can only lose certificates");
            assert!(e.max_violation <= c.max_violation + 1e-12, "bounding helpful patches can only raise the bound");
            let c = e;
            if !c.certified {
                failed += 1;
                assert!(c.max_violation > c.tolerance);
                assert!(c.witness_value > 0.0);
                assert!(region.violation(&c.witness) <= 1e-9);
                let mut y = [0.0; 3];
                rep.forward(&c.witness, &mut y);
                assert!(spec.violation(&y) > 0.0, "the witness really violates: y {:?}", y);
                assert_ne!(argmax(&y), 1);
            }
        }
        assert!(failed >= 1);
        let _ = p;
    }

    #[test]
    fn irrelevant_patches_are_left_out_and_own_patch_gives_one_piece() {
        let (_net, regions, rep, spec, _) = repaired_area(4, 1e-4);
        for region in &regions {
            let c = certify_region(region, &rep.patches, &spec, &CertifyOptions::default()).unwrap();
            assert!(c.certified, "{:?}", c);
            assert!(c.patches.len() < rep.patches.len() || rep.patches.len() <= 1);
        }
    }

    #[test]
    fn conflicting_patches_fail_where_bands_overlap() {
        // One region, two affine-free patches pushing opposite ways on the same rows: the sum is
        // 0 on the region, so the spec fails there although each patch alone would fix it.
        let mut rng = Rng(9);
        let net = random_network(&mut rng, &[2, 6, 2]);
        let lo = [-1.0, -1.0];
        let hi = [1.0, 1.0];
        let region = LinearRegion::of_point(&net, &[0.1, 0.1], &lo, &hi).unwrap();
        let spec = Spec::new(2, vec![1.0, 0.0], vec![-100.0]).unwrap(); // y0 <= -100
        let mp = minimal_patch(&region, &spec).unwrap();
        let good = constant_patch(&region, mp.d.clone(), 0.1);
        let alone = certify_region(&region, std::slice::from_ref(&good), &spec, &CertifyOptions::default()).unwrap();
        assert!(alone.certified, "{} > {}", alone.max_violation, alone.tolerance);
        let bad = constant_patch(&region, mp.d.iter().map(|v| -v).collect(), 0.1);
        let both = certify_region(&region, &[good, bad], &spec, &CertifyOptions::default()).unwrap();
        assert!(!both.certified);
        assert!(both.max_violation > 50.0);
    }

    #[test]
    fn affine_patches_are_certified_through_their_clamp_relus() {
        let mut rng = Rng(13);
        let net = random_network(&mut rng, &[2, 6, 2]);
        let lo = [-1.0, -1.0];
        let hi = [1.0, 1.0];
        let region = LinearRegion::of_point(&net, &[0.2, -0.1], &lo, &hi).unwrap();
        // Patch p = −(F x + e) + t: makes y = t exactly on the region; spec |y_o − t_o| <= 0.01.
        let t = [0.5, -0.25];
        let c: Vec<f64> = region.f.iter().map(|v| -v).collect();
        let d: Vec<f64> = (0..2).map(|o| t[o] - region.e[o]).collect();
        let mut hh = vec![0.0; 2];
        let mut sx = region.simplex();
        for o in 0..2 {
            let co = &c[o * 2..(o + 1) * 2];
            let up = sx.maximize(co).unwrap().upper + d[o];
            let neg: Vec<f64> = co.iter().map(|v| -v).collect();
            let dn = sx.maximize(&neg).unwrap().upper - d[o];
            hh[o] = up.max(dn).max(0.0);
        }
        let (a, b) = region.support_rows(1e-9, true).unwrap();
        let patch = PatchNetwork::new(2, 2, a, b, 0.05, c.clone(), d.clone(), hh.clone()).unwrap();
        let spec = Spec::new(2, vec![1.0, 0.0, -1.0, 0.0, 0.0, 1.0, 0.0, -1.0], vec![t[0] + 0.01, -t[0] + 0.01, t[1] + 0.01, -t[1] + 0.01]).unwrap();
        let cert = certify_region(&region, std::slice::from_ref(&patch), &spec, &CertifyOptions::default()).unwrap();
        assert!(cert.certified, "{} > {}", cert.max_violation, cert.tolerance);
        assert!((cert.witness_value - (-0.01)).abs() < 1e-9, "tight: {}", cert.witness_value);
        // A clamp bound that is too small cuts the patch on part of the region.
        let mut small = hh.clone();
        small[0] *= 0.5;
        let cut = PatchNetwork::new(2, 2, patch.a.clone(), patch.b.clone(), 0.05, c, d, small).unwrap();
        let cert = certify_region(&region, &[cut], &spec, &CertifyOptions::default()).unwrap();
        assert!(!cert.certified);
        assert!(cert.pieces > 1);
    }

    /// f(x) = −0.5 + 2x − 0.4·ReLU(x − 1) on [0, 2], spec −1 <= y <= 1: regions A = [0, 1]
    /// (f from −0.5 to 1.5, minimal patch −0.5) and B = [1, 2] (f from 1.5 to 3.1, −2.1).
    fn two_adjacent_patches(radius: f64) -> (Network, [LinearRegion; 2], Vec<PatchNetwork>, Spec) {
        use crate::network::Layer;
        let net = Network::new(vec![
            Layer { n_in: 1, n_out: 2, w: vec![1.0, 1.0], b: vec![0.0, -1.0], relu: true },
            Layer { n_in: 2, n_out: 1, w: vec![2.0, -0.4], b: vec![-0.5], relu: false },
        ])
        .unwrap();
        let (lo, hi) = ([0.0], [2.0]);
        let a = LinearRegion::of_point(&net, &[0.5], &lo, &hi).unwrap();
        let b = LinearRegion::of_point(&net, &[1.5], &lo, &hi).unwrap();
        let spec = Spec::new(1, vec![1.0, -1.0], vec![1.0, 1.0]).unwrap();
        let patches: Vec<PatchNetwork> = [&a, &b]
            .iter()
            .map(|r| {
                let mp = minimal_patch(r, &spec).unwrap();
                let (ra, rb) = r.support_rows(1e-9, true).unwrap();
                PatchNetwork::new(1, 1, ra, rb, radius, vec![], mp.d, vec![]).unwrap()
            })
            .collect();
        assert!((patches[0].d[0] + 0.5).abs() < 1e-12 && (patches[1].d[0] + 2.1).abs() < 1e-12);
        (net, [a, b], patches, spec)
    }

    #[test]
    fn chain_composition_is_sound_on_a_shared_face_where_the_sum_is_not() {
        let (net, regions, patches, spec) = two_adjacent_patches(0.1);
        let mut sum = RepairedNetwork::new(net.clone());
        let mut chain = RepairedNetwork::new(net);
        for p in &patches {
            sum.add_patch(p.clone()).unwrap();
            chain.add_patch(p.clone()).unwrap();
        }
        chain.chain = true;
        // The sum adds both patches on the face x = 1: 1.5 − 0.5 − 2.1 = −1.1 < −1, at any radius.
        let mut y = [0.0];
        sum.forward(&[1.0], &mut y);
        assert!((y[0] + 1.1).abs() < 1e-12);
        chain.forward(&[1.0], &mut y);
        assert!((y[0] + 0.6).abs() < 1e-12, "the last patch (B) wins on its region: {}", y[0]);
        let chained = CertifyOptions { chain: true, ..CertifyOptions::default() };
        for r in &regions {
            let s = certify_region(r, &sum.patches, &spec, &CertifyOptions::default()).unwrap();
            assert!(!s.certified && s.max_violation > 0.09, "sum: {:?}", s.max_violation);
            for o in [chained, CertifyOptions { bound_helpful: false, ..chained }] {
                let c = certify_region(r, &chain.patches, &spec, &o).unwrap();
                assert!(c.certified, "chain: {} > {}", c.max_violation, c.tolerance);
            }
        }
        // Exactly modelled, region A is split where B's band starts and where its weight passes
        // A's; by convexity it takes two LPs per row (A's patch on A, B's on A's part of its band).
        let c = certify_region(&regions[0], &chain.patches, &spec, &CertifyOptions { bound_helpful: false, ..chained }).unwrap();
        assert_eq!(c.exact_patches, 2);
        assert!(c.pieces >= 2);
        let c = certify_region(&regions[0], &chain.patches, &spec, &chained).unwrap();
        assert_eq!((c.exact_patches, c.pieces, c.patches.clone()), (0, 2, vec![0, 1]));
        // Sampling agrees, and the chain weights are a convex combination.
        let mut w = [0.0; 2];
        for i in 0..=2000 {
            let x = [i as f64 / 1000.0];
            chain.forward(&x, &mut y);
            assert!(spec.violation(&y) <= 1e-12, "x = {}: y = {}", x[0], y[0]);
            chain.chain_weights(&x, &mut w);
            assert!((w[0] + w[1] - 1.0).abs() < 1e-12 && w.iter().all(|&v| v >= 0.0));
        }
    }

    #[test]
    fn a_chain_patch_that_is_wrong_in_an_earlier_region_is_caught() {
        // Radius 3: B's weight is still 2/3 at x = 0, where the output is −2.07.
        let (net, regions, patches, spec) = two_adjacent_patches(3.0);
        let mut chain = RepairedNetwork::new(net);
        for p in &patches {
            chain.add_patch(p.clone()).unwrap();
        }
        chain.chain = true;
        let o = CertifyOptions { chain: true, ..CertifyOptions::default() };
        let a = certify_region(&regions[0], &chain.patches, &spec, &o).unwrap();
        assert!(!a.certified);
        let mut y = [0.0];
        chain.forward(&a.witness, &mut y);
        assert!(spec.violation(&y) > 0.0 && (spec.violation(&y) - a.witness_value).abs() < 1e-9);
        assert!(certify_region(&regions[1], &chain.patches, &spec, &o).unwrap().certified);
        // Reversed order: B's region gets A's patch mixed in near the face, and B is the one caught.
        let mut rev = RepairedNetwork::new(chain.original.clone());
        rev.add_patch(patches[1].clone()).unwrap();
        rev.add_patch(patches[0].clone()).unwrap();
        rev.chain = true;
        assert!(certify_region(&regions[0], &rev.patches, &spec, &o).unwrap().certified);
        assert!(!certify_region(&regions[1], &rev.patches, &spec, &o).unwrap().certified);
    }

    #[test]
    fn cells_that_tile_a_region_stand_in_for_its_patch() {
        // f(x) = 2x on [0, 1] (one region), spec −0.6 <= y <= 0.6: f varies by 2, so no constant
        // patch exists on the region; two cells [0, ½] and [½, 1] get constant patches valid on
        // their cells relaxed by r (d = −0.44 and −1.4).
        use crate::network::Layer;
        let net = Network::new(vec![
            Layer { n_in: 1, n_out: 1, w: vec![1.0], b: vec![0.0], relu: true },
            Layer { n_in: 1, n_out: 1, w: vec![2.0], b: vec![0.0], relu: false },
        ])
        .unwrap();
        let region = LinearRegion::of_point(&net, &[0.5], &[0.0], &[1.0]).unwrap();
        let spec = Spec::new(1, vec![1.0, -1.0], vec![0.6, 0.6]).unwrap();
        assert!(minimal_patch(&region, &spec).unwrap().d.is_empty(), "no constant patch on the whole region");
        let (ra, rb) = region.support_rows(1e-9, true).unwrap();
        let cell = |cut: (f64, f64), d: f64| {
            let (mut a, mut b) = (ra.clone(), rb.clone());
            a.push(cut.0);
            b.push(cut.1);
            PatchNetwork::new(1, 1, a, b, 0.02, vec![], vec![d], vec![]).unwrap()
        };
        let left = cell((1.0, 0.5), -0.44); // x <= ½
        let right = cell((-1.0, -0.5), -1.4); // x >= ½
        let o = CertifyOptions { chain: true, ..CertifyOptions::default() };
        for order in [[&left, &right], [&right, &left]] {
            let mut rep = RepairedNetwork::new(net.clone());
            for p in order {
                rep.add_patch(p.clone()).unwrap();
            }
            rep.chain = true;
            let c = certify_region(&region, &rep.patches, &spec, &o).unwrap();
            assert!(c.certified, "{} > {}", c.max_violation, c.tolerance);
            assert_eq!((c.exact_patches, c.pieces), (0, 2));
            let mut y = [0.0];
            for i in 0..=1000 {
                rep.forward(&[i as f64 / 1000.0], &mut y);
                assert!(spec.violation(&y) <= 1e-12, "x = {}: {}", i as f64 / 1000.0, y[0]);
            }
        }
        // One cell alone does not cover the region: no tiling, and the region fails.
        let c = certify_region(&region, std::slice::from_ref(&left), &spec, &o).unwrap();
        assert!(!c.certified);
        // Overlapping cells are no tiling either (volumes add up to more than the box).
        let wide = cell((1.0, 0.75), -0.44);
        assert!(tiling_cells(&[wide, right.clone()], &RowSet::of_region(&region), 1, &[0.0], &[1.0]).is_empty());
    }
}
