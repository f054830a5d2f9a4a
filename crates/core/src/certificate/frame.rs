//! What both tiers establish about a region before looking at its patches, and the two tests of
//! whether a patch's band reaches it.

use super::band::{band_reaches, patch_reaches_box, BandBox};
use super::rows::{spec_rows_on, RowSet};
use crate::error::{lp_context, Result};
use crate::patch::PatchNetwork;
use crate::polytope::{bounded_polytope, BoxedPolytope};
use crate::region::LinearRegion;
use crate::spec::Spec;

pub(super) struct Frame {
    /// The region prepared for LPs: its tight bounding box and the rows that box does not imply.
    pub bp: BoxedPolytope,
    /// The region's own rows, to recognise patch rows that are region rows.
    pub own_rows: RowSet,
    /// The spec rows on the unpatched region (see `rows::spec_rows_on`).
    pub base: Vec<f64>,
    /// LPs solved so far (the bounding box, band tests).
    pub lps: usize,
}

impl Frame {
    pub(super) fn new(region: &LinearRegion, spec: &Spec) -> Result<Frame> {
        let bp = bounded_polytope(region.n_in, &region.a, &region.b, &region.lower, &region.upper)
            .map_err(lp_context(|| "certificate: bounding box of the region".to_string()))?;
        Ok(Frame { lps: bp.lps, bp, own_rows: RowSet::of_region(region), base: spec_rows_on(region, spec) })
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
