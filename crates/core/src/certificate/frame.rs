//! What both tiers establish about a region before looking at its patches: its tight bounding
//! box, its own rows, the spec rows on its affine map with their tolerances and rounding, whether
//! the shared box gate is 1 on all of it, and the two tests of whether a patch's band reaches it.

use super::band::{band_reaches, patch_reaches_box, BandBox};
use super::options::CertifyOptions;
use super::rows::RowSide;
use super::rows::{spec_rows_on, RowSet};
use super::safe_set::SafeSet;
use super::target::Target;
use super::tolerance::{magnitude, map_rounding, row_tolerance, spec_row_rounding, value_scale};
use crate::bounds::rounding::{add_up, err_bound};
use crate::error::{lp_context, Error, Result};
use crate::gate::BoxGate;
use crate::patch::PatchNetwork;
use crate::polytope::{bounded_polytope_with, interval, BoxedPolytope};

pub(super) struct Frame {
    /// The region prepared for LPs: its tight bounding box and the rows that box does not imply.
    pub bp: BoxedPolytope,
    /// The region's own rows, to recognise patch rows that are region rows.
    pub own_rows: RowSet,
    /// The stacked spec rows on the unpatched region (see `rows::spec_rows_on`).
    pub base: Vec<f64>,
    /// Per stacked row: its tolerance T_j without rounding (see [`Frame::tolerance`]), the
    /// rounding of the region map, that plus the region's decision budget (added to every bound
    /// of the row), and the scale of its values.
    pub tol: Vec<f64>,
    pub rounding: Vec<f64>,
    pub extra: Vec<f64>,
    pub scale: Vec<f64>,
    /// The box gate (if any) is 1 on the whole region: the region's bounding box lies in the
    /// gate's box (checked, not assumed).
    pub in_gate: bool,
    /// LPs solved so far (the bounding box, band tests).
    pub lps: usize,
}

impl Frame {
    pub(super) fn new(target: &Target, safe: &SafeSet, gate: Option<&BoxGate>, opts: &CertifyOptions) -> Result<Frame> {
        let region = &target.region;
        let n = region.n_in;
        // With hinted multipliers the rows' bounds need not decide emptiness (over an empty
        // region every bound holds); a row they do not prove gets an LP, which does.
        let decide_empty = target.duals.is_none();
        let bp = bounded_polytope_with(n, &region.a, &region.b, &region.lower, &region.upper, decide_empty)
            .map_err(lp_context(|| "certificate: bounding box of the region".to_string()))?;
        let base = spec_rows_on(region, &safe.all);
        let rows = safe.rows();
        let (err, mag) = match target.network {
            Some(net) => map_rounding(net, &region.pattern, &bp.lower, &bp.upper),
            None => (vec![0.0; region.n_out], vec![0.0; region.n_out]),
        };
        let mut tol = Vec::with_capacity(rows);
        let mut extra = Vec::with_capacity(rows);
        let mut round = Vec::with_capacity(rows);
        let mut scale = Vec::with_capacity(rows);
        for j in 0..rows {
            let bj = &base[j * (n + 1)..(j + 1) * (n + 1)];
            tol.push(row_tolerance(opts, &bj[..n], bj[n], &bp.lower, &bp.upper));
            scale.push(value_scale(&bj[..n], bj[n], &bp.lower, &bp.upper));
            let rounding = if target.network.is_some() {
                spec_row_rounding(safe.all.row(j), safe.all.q[j], &err, &mag)
            } else {
                0.0
            };
            round.push(rounding);
            extra.push(rounding + target.budget[j]);
        }
        let in_gate = gate.map_or(true, |g| {
            (0..n).all(|j| {
                g.lower.get(j).map_or(false, |&l| l <= bp.lower[j])
                    && g.upper.get(j).map_or(false, |&u| bp.upper[j] <= u)
            })
        });
        Ok(Frame {
            lps: bp.lps,
            own_rows: RowSet::of_region(region, &target.original_b, &target.relax),
            bp,
            base,
            tol,
            rounding: round,
            extra,
            scale,
            in_gate,
        })
    }

    /// The tolerance of a bound on row j that includes `rounding` (the map's and the piece row's):
    /// the absolute tolerance asked for, or rtol·(1 + V_j) plus that rounding — the uncertainty
    /// float64 parameters force on any bound of the real function, which no tolerance below it
    /// could accept when the spec holds with equality (a minimal patch).
    pub(super) fn tolerance(&self, opts: &CertifyOptions, j: usize, rounding: f64) -> f64 {
        match opts.tolerance {
            Some(t) => t,
            None => self.tol[j] + rounding,
        }
    }

    /// The cheap tests (no LP): false when the band of `p` provably misses the region's bounding
    /// box, by its precomputed band box or by one of its rows.
    pub(super) fn may_reach(&self, p: &PatchNetwork, band: Option<&BandBox>) -> bool {
        if let Some(bb) = band {
            if !bb.meets(&self.bp.lower, &self.bp.upper) {
                return false;
            }
            // A band box that is the region's box itself (high dimension: both are the input
            // box) was given the box test already (`band_box`). "May reach" is the safe answer.
            if bb.lower == self.bp.lower && bb.upper == self.bp.upper {
                return true;
            }
        }
        patch_reaches_box(p, &self.bp.lower, &self.bp.upper)
    }

    /// The LP tests: does the band of `p` reach the region? First [`Frame::apart`] (one LP over
    /// the region's own polytope), then one LP over the region and the band rows it does not imply
    /// ([`Frame::band_rows`]).
    pub(super) fn reaches(&mut self, p: &PatchNetwork) -> Result<bool> {
        if self.apart(p)? {
            return Ok(false);
        }
        self.lps += 1;
        let (a, b) = self.band_rows(p);
        let s = &p.support;
        band_reaches(s.n_in, &a, &b, s.radius, &self.bp.a, &self.bp.b, &self.bp.lower, &self.bp.upper)
    }

    /// The band rows `a_i·x <= b_i + r` of `p` that an LP over the region needs, row-major with
    /// their right-hand sides (b_i + r, rounded up): every support row except those the region
    /// implies by construction, without LP — its own rows (holding on it up to a relaxation
    /// ρ <= r) and rows its bounding box implies (interval bound with a rounding guard). Leaving
    /// implied rows out does not change band ∩ region, so every LP over it is the same; only the
    /// rows that cut the region are copied (for a CNN a support has thousands of rows of all
    /// inputs, most of them rows of the neighbouring region too).
    pub(super) fn band_rows(&self, p: &PatchNetwork) -> (Vec<f64>, Vec<f64>) {
        let s = &p.support;
        let (mut a, mut b) = (Vec::new(), Vec::new());
        for i in 0..s.rows() {
            let row = s.row(i);
            if let RowSide::Own(rho) = self.own_rows.side(row, s.b[i]) {
                if rho <= s.radius {
                    continue;
                }
            }
            let rhs = add_up(s.b[i], s.radius);
            let (mx, _, guard) = interval(row, -rhs, &self.bp.lower, &self.bp.upper);
            if mx + guard <= 0.0 {
                continue;
            }
            a.extend_from_slice(row);
            b.push(rhs);
        }
        (a, b)
    }

    /// Proves that the support of `p` is 0 on the whole region, by one LP over the region's own
    /// polytope (an early-stopping dual simplex, see below). On the region every support row i whose negation is an exact region row (the set
    /// D: a neuron on the other side in the patch's region) has s_i = b_i − a_i·x <= 0, so its
    /// term u_i − v_i = clamp(1 + γ s_i, 0, 1) = 1 − min(1, γ|s_i|), every other term is <= 1,
    /// and Σ_i (u_i − v_i) <= m − min(1, γ Σ_D |s_i|) (Σ min(1, t_i) >= min(1, Σ t_i)). Where
    /// Σ_D (a_i·x − b_i) >= r on the whole region, the sum is <= m − 1 and g = 0 there exactly
    /// (with a box gate B <= 1 too). The LP maximises Σ_D s_i; its certified bound, plus the
    /// rounding of the summed row, must be <= −r.
    pub(super) fn apart(&mut self, p: &PatchNetwork) -> Result<bool> {
        let s = &p.support;
        let n = s.n_in;
        let (mut c, mut abs_c) = (vec![0.0; n], vec![0.0; n]);
        let (mut k, mut abs_k, mut count) = (0.0, 0.0, 0usize);
        for i in 0..s.rows() {
            let row = s.row(i);
            if self.own_rows.side(row, s.b[i]) != RowSide::Opposite {
                continue;
            }
            count += 1;
            // Maximise Σ_D (b_i − a_i·x) = k + (−c)·x.
            for j in 0..n {
                c[j] -= row[j];
                abs_c[j] += row[j].abs();
            }
            k += s.b[i];
            abs_k += s.b[i].abs();
        }
        if count == 0 {
            return Ok(false);
        }
        // The computed c and k differ from the exact sums by at most γ_count times the sums of
        // magnitudes; the product with x adds γ_{n+2} of the magnitude over the box.
        let mag = magnitude(&abs_c, abs_k, &self.bp.lower, &self.bp.upper);
        let rounding = err_bound(count + n + 2, mag);
        // What max (−c)·x may be: k + it + rounding <= −r, with a few ulps to spare for the sum.
        let allowed = -s.radius - k - rounding;
        let threshold = allowed - 8.0 * f64::EPSILON * (allowed.abs() + k.abs() + rounding);
        self.lps += 1;
        // A cold dual simplex on the region's polytope (shared, not copied) that stops as soon as
        // its certified bound is below the threshold.
        let bound = match self.bp.simplex.sibling().maximize_unless_below(&c, threshold) {
            Ok(Err(bound)) => bound,
            Ok(Ok(sol)) => sol.upper,
            // No bound: the full test decides.
            Err(Error::Lp(_)) | Err(Error::Empty(_)) => return Ok(false),
            Err(e) => return Err(e),
        };
        Ok(add_up(add_up(bound, k), rounding) <= -s.radius)
    }
}

/// The precomputed band box of patch `i`, if any.
pub(super) fn band_of(band_boxes: &[Option<BandBox>], i: usize) -> Option<&BandBox> {
    band_boxes.get(i).and_then(|b| b.as_ref())
}
