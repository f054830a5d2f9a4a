//! Patch networks as they cross the boundary (core `patch.rs`; TypeScript twin `ts/patch.ts`).

use std::sync::Arc;

use relu_repair_core::patch::{slack_excess, RowTable};
use relu_repair_core::{AffinePatch, ConstantPatch, Error, PatchMap, PatchNetwork, Support};

use crate::abi::{PatchKind, AFFINE_PATCH, CONSTANT_PATCH, SHARED_AFFINE_PATCH, SHARED_CONSTANT_PATCH};
use crate::handles::{slice, slice_mut};
use crate::json::Object;
use crate::layout::Reader;

/// The patch network of a [`crate::abi::PATCH_HEADER`] object and its parameters
/// ([`CONSTANT_PATCH`] or [`AFFINE_PATCH`] by kind) for a network with `n_in` inputs and `n_out`
/// outputs.
pub fn decode_patch(header: &Object, params: &[f64], n_in: usize, n_out: usize) -> Result<PatchNetwork, Error> {
    let rows = header.count("rows");
    let dims = [("rows", rows), ("inputs", n_in), ("outputs", n_out)];
    let kind: PatchKind = header.code("kind");
    let layout = match kind {
        PatchKind::Constant => &CONSTANT_PATCH,
        PatchKind::Affine => &AFFINE_PATCH,
    };
    let mut r = Reader::new(layout, &dims, params);
    let a = r.array("A")?.to_vec();
    let b = r.array("b")?.to_vec();
    let map = read_map(kind, &mut r)?;
    r.finish()?;
    PatchNetwork::new(Support::new(n_in, a, b, header.number("radius"))?, map)
}

/// The patch's map (constant d, or affine C, d, H) from its parameters, after the support rows.
fn read_map(kind: PatchKind, r: &mut Reader) -> Result<PatchMap, Error> {
    Ok(match kind {
        PatchKind::Constant => PatchMap::Constant(ConstantPatch { d: r.array("d")?.to_vec() }),
        PatchKind::Affine => {
            let c = r.array("C")?.to_vec();
            let d = r.array("d")?.to_vec();
            let h = r.array("H")?.to_vec();
            PatchMap::Affine(AffinePatch { c, d, h })
        }
    })
}

/// The patch network of a [`crate::abi::SHARED_PATCH_HEADER`] object and its parameters
/// ([`SHARED_CONSTANT_PATCH`] or [`SHARED_AFFINE_PATCH`]), its support reading `table`.
pub fn decode_shared_patch(
    header: &Object,
    params: &[f64],
    table: Arc<RowTable>,
    n_out: usize,
) -> Result<PatchNetwork, Error> {
    let n_in = table.n_in;
    let rows = header.count("rows");
    let own = header.count("own");
    let dims = [("rows", rows), ("own", own), ("inputs", n_in), ("outputs", n_out)];
    let kind: PatchKind = header.code("kind");
    let layout = match kind {
        PatchKind::Constant => &SHARED_CONSTANT_PATCH,
        PatchKind::Affine => &SHARED_AFFINE_PATCH,
    };
    let mut r = Reader::new(layout, &dims, params);
    let slot: Vec<u32> = r.array("slot")?.iter().map(|&v| v.min(u32::MAX as f64) as u32).collect();
    let a = r.array("A")?.to_vec();
    let b = r.array("b")?.to_vec();
    let map = read_map(kind, &mut r)?;
    r.finish()?;
    PatchNetwork::new(Support::shared(table, slot, a, b, header.number("radius"))?, map)
}

/// Σ_i (a_i·x − b_i)⁺ for each of `npts` points (the support of a patch with these rows is 0
/// exactly where this reaches its radius).
#[no_mangle]
pub extern "C" fn rr_slack_excess(
    a: *const f64,
    b: *const f64,
    m: usize,
    n: usize,
    xs: *const f64,
    npts: usize,
    out: *mut f64,
) -> i32 {
    slack_excess(slice(a, m * n), slice(b, m), n, slice(xs, npts * n), slice_mut(out, npts));
    0
}
