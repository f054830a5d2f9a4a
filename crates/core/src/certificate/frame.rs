//! What both tiers establish about a region before looking at its patches: its tight bounding
//! box, its own rows, the spec rows on its affine map with their tolerances and rounding, whether
//! the shared box gate is 1 on all of it, and the two tests of whether a patch's band reaches it.

use super::band::{band_reaches, patch_reaches_box, BandBox};
use super::options::CertifyOptions;
use super::rows::{spec_rows_on, RowSet};
use super::safe_set::SafeSet;
use super::target::Target;
use super::tolerance::{map_rounding, row_tolerance, spec_row_rounding, value_scale};
use crate::error::{lp_context, Result};
use crate::gate::BoxGate;
use crate::patch::PatchNetwork;
use crate::polytope::{bounded_polytope, BoxedPolytope};

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
        let bp = bounded_polytope(n, &region.a, &region.b, &region.lower, &region.upper)
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
        }
        patch_reaches_box(p, &self.bp.lower, &self.bp.upper)
    }

    /// The LP test: does the band of `p` reach the region?
    pub(super) fn reaches(&mut self, p: &PatchNetwork) -> Result<bool> {
        self.lps += 1;
        band_reaches(p, &self.bp.a, &self.bp.b, &self.bp.lower, &self.bp.upper)
    }
}

/// The precomputed band box of patch `i`, if any.
pub(super) fn band_of(band_boxes: &[Option<BandBox>], i: usize) -> Option<&BandBox> {
    band_boxes.get(i).and_then(|b| b.as_ref())
}
