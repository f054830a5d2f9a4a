//! The minimal patch of a region and the smallest constant patch for given violations (core
//! `minimal.rs`; TypeScript: `LinearRegion.constantPatch` in `ts/region.ts`, `constantPatchFor`
//! in `ts/minimal.ts`), and the certification of another solver's answers to region LPs (the
//! orchestration's fallback when the core simplex fails: `LinearRegion.constantPatchFrom` and
//! `LinearRegion.certifyMax`).

use relu_repair_core::minimal::{certify_answer, minimal_patch_from_answers};
use relu_repair_core::{constant_patch_for, minimal_patch_with, Error, MinimalPatch, Spec};

use crate::abi::{BEST_CONSTANT_PATCH, MINIMAL_PATCH, MINIMAL_PATCH_OPTIONS};
use crate::handles::{bytes, fail, on, slice, write_out};
use crate::json::Object;
use crate::layout::{Dims, Writer};
use crate::region::{write_solution, RegionState};

/// Φ_out = {P y <= q} with `rows` rows over `k` outputs, from linear memory.
pub fn read_spec(p: *const f64, q: *const f64, rows: usize, k: usize) -> Result<Spec, Error> {
    Spec::new(k, slice(p, rows * k).to_vec(), slice(q, rows).to_vec())
}

/// [`MINIMAL_PATCH`] of `mp` (dims: inputs, outputs, rows).
pub fn encode_minimal_patch(mp: &MinimalPatch, dims: Dims) -> Vec<f64> {
    let mut w = Writer::new(&MINIMAL_PATCH, dims);
    w.code("proof", mp.proof);
    w.real("lowerBound", mp.lower_bound);
    w.real("norm", mp.norm());
    w.real("residual", mp.residual);
    w.count("lps", mp.lps);
    w.count("pivots", mp.pivots);
    w.real("rounding", mp.rounding);
    w.optional("d", mp.constant.as_ref().map(|c| &c.d[..]));
    w.reals("worstLower", &mp.worst_lower);
    w.reals("worstUpper", &mp.worst_upper);
    w.reals("witnesses", &mp.witnesses);
    w.reals("duals", &mp.duals);
    w.finish()
}

/// The lower-bound / constant-patch path on one region for Φ_out = {P y <= q}, with
/// [`MINIMAL_PATCH_OPTIONS`] (JSON); writes [`MINIMAL_PATCH`].
#[no_mangle]
pub extern "C" fn rr_region_minimal_patch(
    h: i32,
    p: *const f64,
    q: *const f64,
    rows: usize,
    opts: *const u8,
    opts_len: usize,
    out: *mut f64,
) -> i32 {
    let o = match Object::parse(&MINIMAL_PATCH_OPTIONS, bytes(opts, opts_len)) {
        Ok(o) => o,
        Err(e) => return fail(e),
    };
    on(h, "region", |s: &mut RegionState| {
        let (n, k, m) = (s.region.n_in, s.region.n_out, s.region.rows());
        let mp = read_spec(p, q, rows, k).and_then(|spec| minimal_patch_with(&s.region, &spec, o.flag("exactRows")));
        let dims = [("inputs", n), ("outputs", k), ("rows", rows), ("regionRows", m)];
        match mp {
            Ok(mp) => write_out(out, &encode_minimal_patch(&mp, &dims)),
            Err(e) => fail(e),
        }
    })
}

/// The minimal constant patch for worst violations v (rows) of Φ_out = {P y <= q} with k
/// outputs; writes [`BEST_CONSTANT_PATCH`].
#[no_mangle]
pub extern "C" fn rr_constant_patch(
    p: *const f64,
    q: *const f64,
    rows: usize,
    k: usize,
    v: *const f64,
    out: *mut f64,
) -> i32 {
    match read_spec(p, q, rows, k).and_then(|spec| constant_patch_for(&spec, slice(v, rows))) {
        Ok(best) => {
            let dims = [("outputs", k)];
            let mut w = Writer::new(&BEST_CONSTANT_PATCH, &dims);
            w.real("norm", best.as_ref().map_or(f64::INFINITY, |c| c.norm()));
            w.optional("d", best.as_ref().map(|c| &c.d[..]));
            write_out(out, &w.finish())
        }
        Err(e) => fail(e),
    }
}

/// The minimal patch from another solver's answers to the spec rows' LPs over the region, each
/// certified by the core (`xs`: rows × inputs maximisers, `ys`: rows × region rows multipliers in
/// any sign convention); writes [`MINIMAL_PATCH`].
#[no_mangle]
pub extern "C" fn rr_region_minimal_patch_from(
    h: i32,
    p: *const f64,
    q: *const f64,
    rows: usize,
    xs: *const f64,
    ys: *const f64,
    out: *mut f64,
) -> i32 {
    on(h, "region", |s: &mut RegionState| {
        let (n, k, m) = (s.region.n_in, s.region.n_out, s.region.rows());
        let mp = read_spec(p, q, rows, k)
            .and_then(|spec| minimal_patch_from_answers(&s.region, &spec, slice(xs, rows * n), slice(ys, rows * m)));
        let dims = [("inputs", n), ("outputs", k), ("rows", rows), ("regionRows", m)];
        match mp {
            Ok(mp) => write_out(out, &encode_minimal_patch(&mp, &dims)),
            Err(e) => fail(e),
        }
    })
}

/// max over the region of c·x from another solver's maximiser `x` and row multipliers `y` (any
/// sign convention), certified by the core; writes an [`crate::abi::LP_SOLUTION`] (0 pivots; `x`
/// is the witness of `lower`, −∞ without one).
#[no_mangle]
pub extern "C" fn rr_region_certify_max(h: i32, c: *const f64, x: *const f64, y: *const f64, out: *mut f64) -> i32 {
    on(h, "region", |s: &mut RegionState| {
        let (n, m) = (s.region.n_in, s.region.rows());
        match certify_answer(&s.region, slice(c, n), slice(x, n), slice(y, m)) {
            Ok(sol) => write_solution(out, n, &sol, 0.0),
            Err(e) => fail(e),
        }
    })
}
