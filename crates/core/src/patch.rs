//! Output specifications, the minimal patch of a region (METHOD.md §3) and patch networks (§2).

use crate::error::{invalid, Error, Result};
use crate::linalg::dot;
use crate::region::LinearRegion;

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
            return invalid(format!("spec: label {} is out of range for {} outputs (0..{})", y, k, k - 1));
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
            let plus: Vec<usize> = (0..self.k).filter(|&i| row[i] == 1.0).collect();
            let minus: Vec<usize> = (0..self.k).filter(|&i| row[i] == -1.0).collect();
            let zeros = row.iter().filter(|&&v| v == 0.0).count();
            if plus.len() != 1 || minus.len() != 1 || zeros != self.k - 2 {
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

/// How minimality of a patch was proven.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Proof {
    /// The region already satisfies the spec: the minimal patch is zero.
    NotNeeded,
    /// The constant patch reaches the lower bound t_LB, so no affine patch is smaller.
    ConstantPatch,
    /// The constant patch is infeasible or above t_LB: the full LP must decide.
    NeedsFullLp,
}

/// Result of the fast path of METHOD.md §3 on one region.
#[derive(Debug, Clone)]
pub struct MinimalPatch {
    pub proof: Proof,
    /// t_LB = max_j (max over A of v_j) / ‖P_j‖₁, from feasible witnesses (a true lower bound).
    pub lower_bound: f64,
    /// Norm of the constant patch (= max_i |d_i|), +inf when none is feasible.
    pub norm: f64,
    /// The constant patch d (empty when infeasible).
    pub d: Vec<f64>,
    /// Per spec row j: max over the region of v_j(x) = P_j f(x) − q_j, as a certified interval
    /// (rows bounded without an LP of their own have the anchor's value as lower end).
    pub worst_lower: Vec<f64>,
    pub worst_upper: Vec<f64>,
    /// A point of the region attaining worst_lower, per row (row-major rows × n_in).
    pub witnesses: Vec<f64>,
    /// max_j (P_j d + worst_upper_j): <= 0 (up to rounding) means the patch is sound on A.
    pub residual: f64,
    /// Rounding slack of the certified LP bounds (patch-norm units): `proof` tolerates a gap of
    /// 1e-9 relative plus twice this.
    pub rounding: f64,
    pub lps: usize,
    pub pivots: usize,
}

/// Relative tolerance under which the constant patch counts as reaching t_LB.
pub const MINIMALITY_RTOL: f64 = 1e-9;

/// The minimal patch of `region` for `spec` by the lower-bound / constant-patch path.
pub fn minimal_patch(region: &LinearRegion, spec: &Spec) -> Result<MinimalPatch> {
    minimal_patch_with(region, spec, false)
}

/// [`minimal_patch`], optionally solving every spec row exactly (`exact_rows`) instead of
/// bounding the rows that cannot decide the norm; the report of worst violations per row is
/// exact then, and the patch is the same.
pub fn minimal_patch_with(region: &LinearRegion, spec: &Spec, exact_rows: bool) -> Result<MinimalPatch> {
    if spec.k != region.n_out {
        return invalid(format!("spec: has {} outputs, the network has {}", spec.k, region.n_out));
    }
    let rows = spec.rows();
    let mut sx = region.simplex();
    let mut worst_lower = vec![f64::NEG_INFINITY; rows];
    let mut worst_upper = vec![f64::NEG_INFINITY; rows];
    let mut witnesses = vec![0.0; rows * region.n_in];
    let mut lower_bound: f64 = 0.0;
    // Rounding slack of the certified bounds, in units of the patch norm: the part of the gap
    // between `norm` and `lower_bound` that floating point cannot resolve.
    let mut rounding: f64 = 0.0;
    let mut lps = 0;
    let mut pivots = 0;
    // For label specs the patch norm is max_j v_j / 2, so a row whose certified upper bound is
    // already below the largest solved maximum needs no LP of its own: its bound keeps the patch
    // sound and cannot change the norm. Rows are taken in decreasing order of their value at
    // the anchor point (usually the worst first), and bounded from the current basis.
    // In low dimension warm-started LPs are cheaper than the cold bounding runs: bound only
    // when the region LPs are large.
    let skippable = !exact_rows && spec.label_target().is_some() && region.anchor.is_some() && region.n_in * region.rows() > 4096;
    let mut order: Vec<usize> = (0..rows).collect();
    let mut at_anchor = vec![f64::NEG_INFINITY; rows];
    if let Some(x0) = &region.anchor {
        let mut y = vec![0.0; region.n_out];
        region.affine(x0, &mut y);
        for j in 0..rows {
            at_anchor[j] = dot(spec.row(j), &y) - spec.q[j];
        }
        order.sort_by(|&a, &b| at_anchor[b].partial_cmp(&at_anchor[a]).unwrap_or(std::cmp::Ordering::Equal));
    }
    let mut best_upper = f64::NEG_INFINITY;
    for (pos, &j) in order.iter().enumerate() {
        let l1: f64 = spec.row(j).iter().map(|v| v.abs()).sum();
        if skippable && pos > 0 {
            // A cold dual simplex whose objective only decreases: stop as soon as this row is
            // certified not to exceed the largest maximum found so far.
            let mut c = vec![0.0; region.n_in];
            for i in 0..region.n_out {
                let w = spec.row(j)[i];
                if w != 0.0 {
                    crate::linalg::axpy(w, &region.f[i * region.n_in..(i + 1) * region.n_in], &mut c);
                }
            }
            let constant = dot(spec.row(j), &region.e) - spec.q[j];
            let mut cold = sx.sibling();
            let outcome = cold.maximize_unless_below(&c, best_upper - constant).map_err(|e| match e {
                Error::Lp(m) => Error::Lp(format!("bound of spec row {} over the region: {}", j, m)),
                other => other,
            })?;
            pivots += cold.pivots;
            match outcome {
                Err(bound) => {
                    worst_upper[j] = bound + constant;
                    worst_lower[j] = at_anchor[j];
                    witnesses[j * region.n_in..(j + 1) * region.n_in].copy_from_slice(region.anchor.as_ref().unwrap());
                }
                Ok(sol) => {
                    lps += 1;
                    worst_lower[j] = sol.lower + constant;
                    worst_upper[j] = sol.upper + constant;
                    best_upper = best_upper.max(worst_upper[j]);
                    witnesses[j * region.n_in..(j + 1) * region.n_in].copy_from_slice(&sol.x);
                    if l1 > 0.0 {
                        lower_bound = lower_bound.max(worst_lower[j] / l1);
                        rounding = rounding.max(sol.margin / l1);
                    }
                }
            }
            continue;
        }
        let (sol, constant) = region.max_output(&mut sx, spec.row(j)).map_err(|e| match e {
            Error::Lp(m) => Error::Lp(format!("max of spec row {} over the region: {}", j, m)),
            other => other,
        })?;
        lps += 1;
        worst_lower[j] = sol.lower + constant - spec.q[j];
        worst_upper[j] = sol.upper + constant - spec.q[j];
        best_upper = best_upper.max(worst_upper[j]);
        witnesses[j * region.n_in..(j + 1) * region.n_in].copy_from_slice(&sol.x);
        if l1 > 0.0 {
            lower_bound = lower_bound.max(worst_lower[j] / l1);
            rounding = rounding.max(sol.margin / l1);
        }
    }
    pivots += sx.pivots;
    if worst_upper.iter().all(|&v| v <= 0.0) {
        return Ok(MinimalPatch {
            proof: Proof::NotNeeded,
            lower_bound: 0.0,
            norm: 0.0,
            d: vec![0.0; spec.k],
            worst_lower,
            worst_upper,
            witnesses,
            residual: 0.0,
            rounding,
            lps,
            pivots,
        });
    }
    let (d, norm) = constant_patch_for(spec, &worst_upper)?.unwrap_or((Vec::new(), f64::INFINITY));
    let residual = if d.is_empty() {
        f64::INFINITY
    } else {
        (0..rows).map(|j| dot(spec.row(j), &d) + worst_upper[j]).fold(f64::NEG_INFINITY, f64::max)
    };
    // Proven minimal when the constant patch reaches t_LB up to a relative 1e-9 plus what the
    // rounding of the certified LP bounds can account for (both are reported to the caller).
    let proven = norm.is_finite() && norm <= lower_bound * (1.0 + MINIMALITY_RTOL) + 2.0 * rounding;
    Ok(MinimalPatch {
        proof: if proven { Proof::ConstantPatch } else { Proof::NeedsFullLp },
        lower_bound,
        norm,
        d,
        worst_lower,
        worst_upper,
        witnesses,
        residual,
        rounding,
        lps,
        pivots,
    })
}

/// The minimal constant patch for given worst violations v_j = max P_j f − q_j over a set
/// (several regions' maxima combined by the caller): min ‖d‖_∞ s.t. P d <= −v. Closed form for
/// label specs; None when no constant patch exists.
pub fn constant_patch_for(spec: &Spec, v: &[f64]) -> Result<Option<(Vec<f64>, f64)>> {
    if v.len() != spec.rows() || v.iter().any(|x| x.is_nan()) {
        return invalid(format!("constant patch: {} violations for {} spec rows", v.len(), spec.rows()));
    }
    if v.iter().all(|&x| x <= 0.0) {
        return Ok(Some((vec![0.0; spec.k], 0.0)));
    }
    match spec.label_target() {
        // Closed form for label specs: d = t·(e_y − Σ_{j≠y} e_j), t = max_j v_j / 2 (exact in
        // floating point: halving is exact and P_j d = −2t).
        Some(y) => {
            let t = v.iter().cloned().fold(0.0f64, f64::max) / 2.0;
            Ok(Some(((0..spec.k).map(|i| if i == y { t } else { -t }).collect(), t)))
        }
        None => constant_patch_lp(spec, v),
    }
}

/// min ‖d‖_∞ s.t. P d <= −v (v = certified worst violations), as a boxed LP in (d, t).
/// None when no constant patch exists.
///
/// The simplex's feasibility tolerance is relative to the variable bounds, so the LP is solved
/// with bounds as tight as possible: first |d| <= B for B = 10², 10⁴, 10⁶ × (1 + max |v|) until
/// the optimum t* is well inside, then again with |d_i| <= t*(1 + 10⁻⁹) (widened a little if t*
/// itself was not accurate). Every answer is checked: each row's residual P_j d + v_j must be
/// <= 10⁻¹²·(1 + max |v|). No answer passing that check means no constant patch (the caller then
/// takes the full LP, or another refinement).
fn constant_patch_lp(spec: &Spec, v: &[f64]) -> Result<Option<(Vec<f64>, f64)>> {
    let rows = spec.rows();
    let scale = 1.0 + v.iter().fold(0.0f64, |a, x| a.max(x.abs()));
    let residual = |d: &[f64]| (0..rows).map(|j| dot(spec.row(j), d) + v[j]).fold(f64::NEG_INFINITY, f64::max);
    let tol = 1e-12 * scale;
    for big in [1e2 * scale, 1e4 * scale, 1e6 * scale] {
        let first = match constant_patch_lp_bounded(spec, v, big)? {
            Some(dt) if dt.1 < 0.5 * big => dt,
            _ => continue,
        };
        for (rel, abs) in [(1e-9, 1e-12), (1e-6, 1e-9), (1e-3, 1e-6)] {
            let bound = first.1 * (1.0 + rel) + abs * scale;
            if let Some(cand) = constant_patch_lp_bounded(spec, v, bound)? {
                if residual(&cand.0) <= tol {
                    return Ok(Some(cand));
                }
            }
        }
        if residual(&first.0) <= tol {
            return Ok(Some(first));
        }
    }
    Ok(None)
}

/// min t s.t. P d <= −v, −t <= d_i <= t, |d_i| <= bound. None when infeasible.
fn constant_patch_lp_bounded(spec: &Spec, v: &[f64], bound: f64) -> Result<Option<(Vec<f64>, f64)>> {
    let k = spec.k;
    let rows = spec.rows();
    let n = k + 1;
    let mut g = Vec::with_capacity((rows + 2 * k) * n);
    let mut h = Vec::with_capacity(rows + 2 * k);
    for j in 0..rows {
        g.extend_from_slice(spec.row(j));
        g.push(0.0);
        h.push(-v[j]);
    }
    for i in 0..k {
        for s in [1.0, -1.0] {
            let mut row = vec![0.0; n];
            row[i] = s;
            row[k] = -1.0;
            g.extend(row);
            h.push(0.0);
        }
    }
    let mut lower = vec![-bound; n];
    let upper = vec![bound; n];
    lower[k] = 0.0;
    let mut c = vec![0.0; n];
    c[k] = -1.0;
    let p = crate::lp::Polytope::new(n, &g, &h, &lower, &upper)?;
    match crate::lp::maximize(p, &c) {
        Ok(sol) => {
            let d = sol.x[..k].to_vec();
            let t = d.iter().fold(0.0f64, |a, x| a.max(x.abs()));
            Ok(Some((d, t)))
        }
        Err(Error::Lp(_)) => Ok(None),
        Err(e) => Err(e),
    }
}

/// The patch network h_A of one region (METHOD.md §2), with clamp gating:
///
///   support  g_A(x) = ReLU( Σ_i [ReLU(γ s_i + 1) − ReLU(γ s_i)] − m + 1 ),  s_i = b_i − a_i·x,
///   constant patch  h_A(x) = d · g_A(x),
///   affine patch    h_A(x) = ReLU(p + H g_A) − ReLU(p − H g_A) − H g_A,  p = C x + d.
///
/// Rows are normalised, so r = 1/γ is a distance: g_A = 1 on the region, and g_A = 0 wherever
/// Σ_i (a_i·x − b_i)⁺ >= r — in particular wherever x lies r or more outside any single face.
/// No domain-wide constant K is involved, so locality does not depend on an input box.
#[derive(Debug, Clone, PartialEq)]
pub struct PatchNetwork {
    pub n_in: usize,
    pub n_out: usize,
    /// Support rows `a_i·x <= b_i` (normalised), row-major `m × n_in`.
    pub a: Vec<f64>,
    pub b: Vec<f64>,
    pub radius: f64,
    /// Empty for a constant patch; otherwise `n_out × n_in`.
    pub c: Vec<f64>,
    pub d: Vec<f64>,
    /// Clamp bounds H_j of an affine patch (unused by constant patches).
    pub h: Vec<f64>,
}

impl PatchNetwork {
    pub fn new(n_in: usize, n_out: usize, a: Vec<f64>, b: Vec<f64>, radius: f64, c: Vec<f64>, d: Vec<f64>, h: Vec<f64>) -> Result<PatchNetwork> {
        if b.is_empty() || a.len() != b.len() * n_in {
            return invalid(format!("patch: support rows have {} values for {} rows of {} inputs", a.len(), b.len(), n_in));
        }
        if !(radius.is_finite() && radius > 0.0) {
            return invalid(format!("patch: radius {} must be finite and > 0", radius));
        }
        if d.len() != n_out || !(c.is_empty() || c.len() == n_in * n_out) || !(c.is_empty() || h.len() == n_out) {
            return invalid(format!("patch: sizes of C ({}), d ({}) and H ({}) do not match {} outputs x {} inputs", c.len(), d.len(), h.len(), n_out, n_in));
        }
        if let Some(i) = a.iter().chain(&b).chain(&c).chain(&d).chain(&h).position(|v| !v.is_finite()) {
            return invalid(format!("patch: parameter {} is not finite", i));
        }
        if h.iter().any(|&v| v < 0.0) {
            return invalid("patch: clamp bounds H must be >= 0".to_string());
        }
        Ok(PatchNetwork { n_in, n_out, a, b, radius, c, d, h })
    }

    pub fn rows(&self) -> usize {
        self.b.len()
    }

    /// g_A(x), exactly as the ReLU network computes it.
    pub fn support(&self, x: &[f64]) -> f64 {
        self.support_gated(x, 1.0)
    }

    /// g_A(x) with one more group of rows already summarised by `gate` ∈ [0, 1] (the shared box
    /// indicator): ReLU(Σ_i g_i + gate − m). Since each group value is the clamp of its own sum,
    /// this equals the support over all rows of both groups (exactly: both sides are 0 when
    /// either group is, and agree otherwise). `gate` = 1 gives the plain support.
    pub fn support_gated(&self, x: &[f64], gate: f64) -> f64 {
        if gate <= 0.0 {
            return 0.0;
        }
        let n = self.n_in;
        let gamma = 1.0 / self.radius;
        let mut acc = 0.0;
        for i in 0..self.b.len() {
            let t = gamma * (self.b[i] - dot(&self.a[i * n..(i + 1) * n], x));
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
        if g > 0.0 { g } else { 0.0 }
    }

    /// y += h_A(x). Leaves y untouched (bit for bit) where g_A(x) = 0.
    pub fn add_to(&self, x: &[f64], y: &mut [f64]) {
        self.add_gated(x, 1.0, y)
    }

    /// y += h_A(x) with the box group summarised by `gate` (see [`PatchNetwork::support_gated`]).
    pub fn add_gated(&self, x: &[f64], gate: f64, y: &mut [f64]) {
        let g = self.support_gated(x, gate);
        if g == 0.0 {
            return;
        }
        if self.c.is_empty() {
            for j in 0..self.n_out {
                y[j] += self.d[j] * g;
            }
        } else {
            let n = self.n_in;
            for j in 0..self.n_out {
                let p = dot(&self.c[j * n..(j + 1) * n], x) + self.d[j];
                let hg = self.h[j] * g;
                let up = if p + hg > 0.0 { p + hg } else { 0.0 };
                let dn = if p - hg > 0.0 { p - hg } else { 0.0 };
                y[j] += up - dn - hg;
            }
        }
    }
}

/// The input box as one indicator shared by every patch of a repaired network:
/// B(x) = ReLU( Σ_j [clamp(γ (u_j − x_j) + 1, 0, 1) + clamp(γ (x_j − l_j) + 1, 0, 1)] − 2n + 1 ),
/// γ = 1/radius. B = 1 on the box and 0 once the box faces are violated by r in total. Sharing
/// it keeps 2n box rows out of every support (1568 rows per MNIST patch).
#[derive(Debug, Clone, PartialEq)]
pub struct BoxGate {
    pub lower: Vec<f64>,
    pub upper: Vec<f64>,
    pub radius: f64,
}

impl BoxGate {
    pub fn new(lower: Vec<f64>, upper: Vec<f64>, radius: f64) -> Result<BoxGate> {
        crate::region::check_box(lower.len(), &lower, &upper)?;
        if !(radius.is_finite() && radius > 0.0) {
            return invalid(format!("box gate: radius {} must be finite and > 0", radius));
        }
        Ok(BoxGate { lower, upper, radius })
    }

    pub fn value(&self, x: &[f64]) -> f64 {
        let gamma = 1.0 / self.radius;
        let mut acc = 0.0;
        for j in 0..self.lower.len() {
            for &t in &[gamma * (self.upper[j] - x[j]), gamma * (x[j] - self.lower[j])] {
                if t <= -1.0 {
                    return 0.0;
                }
                acc += if t >= 0.0 { 1.0 } else { t + 1.0 };
            }
        }
        let g = acc - (2 * self.lower.len()) as f64 + 1.0;
        if g > 0.0 { g } else { 0.0 }
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
    use crate::network::tests::{random_network, Rng};

    #[test]
    fn label_spec_constant_patch_is_proven_minimal_and_sound() {
        let mut rng = Rng(21);
        let mut checked = 0;
        for _ in 0..40 {
            let net = random_network(&mut rng, &[3, 10, 10, 4]);
            let x0: Vec<f64> = (0..3).map(|_| rng.range(-1.0, 1.0)).collect();
            let r = LinearRegion::of_point(&net, &x0, &[-2.0; 3], &[2.0; 3]).unwrap();
            let mut y = vec![0.0; 4];
            net.forward(&x0, &mut y);
            // Pick a label that is wrong at x0.
            let best = (0..4).fold(0, |b, i| if y[i] > y[b] { i } else { b });
            let label = (best + 1) % 4;
            let spec = Spec::label(4, label, 0.0).unwrap();
            let mp = minimal_patch(&r, &spec).unwrap();
            assert_eq!(mp.proof, Proof::ConstantPatch);
            assert!(mp.norm >= mp.lower_bound);
            assert!(mp.residual <= 1e-12, "residual {}", mp.residual);
            // Worst violations are attained at the witnesses (within LP tolerance).
            for j in 0..spec.rows() {
                let w = &mp.witnesses[j * 3..(j + 1) * 3];
                let mut yw = vec![0.0; 4];
                r.affine(w, &mut yw);
                let v = dot(spec.row(j), &yw) - spec.q[j];
                assert!((v - mp.worst_lower[j]).abs() < 1e-9 * (1.0 + v.abs()));
            }
            checked += 1;
        }
        assert_eq!(checked, 40);
    }

    #[test]
    fn bounded_rows_give_the_same_patch_as_exact_rows_and_valid_bounds() {
        let mut rng = Rng(33);
        let mut pruned_any = false;
        for _ in 0..25 {
            let net = random_network(&mut rng, &[40, 60, 60, 8]);
            let x0: Vec<f64> = (0..40).map(|_| rng.range(0.2, 0.8)).collect();
            let r = LinearRegion::of_point(&net, &x0, &[0.0; 40], &[1.0; 40]).unwrap();
            let mut y = vec![0.0; 8];
            net.forward(&x0, &mut y);
            let best = (0..8).fold(0, |b, i| if y[i] > y[b] { i } else { b });
            let spec = Spec::label(8, (best + 3) % 8, 0.0).unwrap();
            let fast = minimal_patch(&r, &spec).unwrap();
            let exact = minimal_patch_with(&r, &spec, true).unwrap();
            assert_eq!(exact.lps, spec.rows());
            pruned_any |= fast.lps < spec.rows();
            assert_eq!(fast.proof, exact.proof);
            assert!((fast.norm - exact.norm).abs() <= 1e-9 * (1.0 + exact.norm), "{} vs {}", fast.norm, exact.norm);
            assert!((fast.lower_bound - exact.lower_bound).abs() <= 1e-9 * (1.0 + exact.norm));
            for j in 0..spec.rows() {
                // Every bound is a valid upper bound on the exact maximum, and the patch holds.
                assert!(fast.worst_upper[j] >= exact.worst_lower[j] - 1e-9, "row {}: bound {} below maximum {}", j, fast.worst_upper[j], exact.worst_lower[j]);
                assert!(fast.worst_lower[j] <= exact.worst_upper[j] + 1e-9);
            }
            assert!(fast.residual <= 1e-12);
        }
        assert!(pruned_any, "no row was ever bounded without its own LP");
    }

    #[test]
    fn general_polytope_spec_uses_the_constant_patch_lp() {
        // Output box around a point: constant patch feasible only when F is (nearly) constant.
        let mut rng = Rng(4);
        let net = random_network(&mut rng, &[2, 6, 2]);
        let r = LinearRegion::of_point(&net, &[0.1, 0.2], &[-1.0; 2], &[1.0; 2]).unwrap();
        let wide = Spec::new(2, vec![1.0, 0.0, -1.0, 0.0, 0.0, 1.0, 0.0, -1.0], vec![100.0, 100.0, 100.0, 100.0]).unwrap();
        assert_eq!(minimal_patch(&r, &wide).unwrap().proof, Proof::NotNeeded);
        let narrow = Spec::new(2, vec![1.0, 0.0, -1.0, 0.0, 0.0, 1.0, 0.0, -1.0], vec![0.01, 0.01, 0.01, 0.01]).unwrap();
        let mp = minimal_patch(&r, &narrow).unwrap();
        assert_eq!(mp.proof, Proof::NeedsFullLp);
    }

    #[test]
    fn support_is_one_inside_zero_beyond_the_radius() {
        // Unit square as four rows.
        let a = vec![1.0, 0.0, -1.0, 0.0, 0.0, 1.0, 0.0, -1.0];
        let b = vec![1.0, 0.0, 1.0, 0.0];
        let p = PatchNetwork::new(2, 1, a.clone(), b.clone(), 0.5, vec![], vec![2.0], vec![]).unwrap();
        assert_eq!(p.support(&[0.5, 0.5]), 1.0);
        assert_eq!(p.support(&[1.0, 1.0]), 1.0);
        assert_eq!(p.support(&[1.5, 0.5]), 0.0);
        assert!((p.support(&[1.25, 0.5]) - 0.5).abs() < 1e-15);
        // Two faces each violated by r/2: the sum of excesses reaches r, so g = 0.
        assert_eq!(p.support(&[1.25, 1.25]), 0.0);
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
        let p = PatchNetwork::new(1, 1, a, b, 1.0, vec![2.0], vec![0.5], vec![2.5]).unwrap();
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
    fn constant_patches_for_polytope_specs_satisfy_every_row() {
        // Random polytope specs in 3 outputs and random worst violations: every patch returned
        // satisfies P d <= −v to 1e-12 (relative), and no patch of norm t(1 − 1e-6) exists.
        let mut rng = Rng(5);
        let mut feasible = 0;
        for _ in 0..300 {
            let rows = 3 + (rng.range(0.0, 4.0)) as usize;
            let p: Vec<f64> = (0..rows * 3).map(|_| rng.range(-1.0, 1.0)).collect();
            let spec = Spec::new(3, p, vec![0.0; rows]).unwrap();
            let v: Vec<f64> = (0..rows).map(|_| rng.range(-0.05, 0.05) * 10f64.powi(rng.range(0.0, 4.0) as i32 - 2)).collect();
            let scale = 1.0 + v.iter().fold(0.0f64, |a, x| a.max(x.abs()));
            if let Some((d, t)) = constant_patch_for(&spec, &v).unwrap() {
                feasible += 1;
                for j in 0..rows {
                    assert!(dot(spec.row(j), &d) + v[j] <= 1e-12 * scale, "row {} misses by {}", j, dot(spec.row(j), &d) + v[j]);
                }
                if t > 1e-6 {
                    // Whatever the LP returns with |d| <= t(1 − 1e-6) misses some row by more
                    // than rounding.
                    if let Some((ds, ts)) = constant_patch_lp_bounded(&spec, &v, t * (1.0 - 1e-6) - 1e-9 * scale).unwrap() {
                        let miss = (0..rows).map(|j| dot(spec.row(j), &ds) + v[j]).fold(f64::NEG_INFINITY, f64::max);
                        assert!(miss > 1e-12 * scale, "a patch of norm {} < {} exists (miss {})", ts, t, miss);
                    }
                }
            }
        }
        assert!(feasible > 100, "{}", feasible);
    }
}
