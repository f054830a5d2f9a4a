//! Which patch bands can reach which points and regions (core `reach.rs`; TypeScript:
//! `LinearRegion.rowDepths` in `ts/region.ts`, `forwardAt` in `ts/reach.ts`).

use relu_repair_core::reach::{forward_at, row_depths};
use relu_repair_core::RepairedNetwork;

use crate::handles::{fail, on, slice, slice_mut};
use crate::region::RegionState;

/// Certified depths of `count` region rows (indices as f64) below their hyperplanes, each
/// proven as far as `enough` (see the core); writes `count` values.
#[no_mangle]
pub extern "C" fn rr_region_row_depths(h: i32, rows: *const f64, count: usize, enough: f64, out: *mut f64) -> i32 {
    on(h, "region", |s: &mut RegionState| {
        let idx: Vec<usize> =
            slice(rows, count).iter().map(|&v| if v >= 0.0 { v as usize } else { usize::MAX }).collect();
        match row_depths(&s.region, &idx, enough) {
            Ok(d) => {
                slice_mut(out, count).copy_from_slice(&d);
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
