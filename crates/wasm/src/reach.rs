//! Which patch bands can reach which points and regions (core `reach.rs`; TypeScript:
//! `LinearRegion.maxUnlessBelow` in `ts/region.ts`, `forwardAt` in `ts/reach.ts`).

use relu_repair_core::reach::{forward_at, max_unless_below};
use relu_repair_core::RepairedNetwork;

use crate::handles::{fail, on, slice, slice_mut};
use crate::region::RegionState;

/// A certified upper bound on max c·x over the region, stopping early once <= `threshold` (see
/// the core); writes 1 value.
#[no_mangle]
pub extern "C" fn rr_region_max_unless_below(h: i32, c: *const f64, threshold: f64, out: *mut f64) -> i32 {
    on(h, "region", |s: &mut RegionState| {
        let n = s.region.n_in;
        match max_unless_below(&s.region, slice(c, n), threshold) {
            Ok(u) => {
                slice_mut(out, 1)[0] = u;
                0
            }
            Err(e) => fail(e),
        }
    })
}

/// The repaired network at `n` points through candidate patches: those of point p are
/// `cands[off[p]..off[p + 1]]` (`off` has n + 1 entries, `ncands` = off[n]); writes `n × outputs`.
#[no_mangle]
pub extern "C" fn rr_repaired_forward_at(
    h: i32,
    xs: *const f64,
    n: usize,
    off: *const f64,
    cands: *const f64,
    ncands: usize,
    out: *mut f64,
) -> i32 {
    on(h, "repaired network", |rep: &mut RepairedNetwork| {
        let (ni, no) = (rep.original.n_in(), rep.original.n_out());
        let off: Vec<usize> = slice(off, n + 1).iter().map(|&v| v as usize).collect();
        let cands: Vec<usize> = slice(cands, ncands).iter().map(|&v| v as usize).collect();
        match forward_at(rep, slice(xs, n * ni), n, &off, &cands, slice_mut(out, n * no)) {
            Ok(()) => 0,
            Err(e) => fail(e),
        }
    })
}
