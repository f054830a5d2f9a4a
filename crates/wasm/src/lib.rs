//! C-ABI exports of relu-repair-core for WebAssembly. Translation only: numbers in Float64Array
//! views of linear memory, objects behind integer handles, errors as status codes plus a message.
//!
//! Conventions (mirrored by `ts/wasm/raw.ts`):
//! * Buffers come from `rr_alloc(bytes)` (8-byte aligned, so Float64Array views work) and go back
//!   with `rr_free(ptr, bytes)`.
//! * Constructors return a handle > 0, or a negative status. Other calls return a status.
//! * Status: 0 ok, -1 invalid input, -2 LP failure, -3 unknown handle or wrong object kind.
//!   After a non-zero status, `rr_message_ptr/len` hold the UTF-8 message.
//! * Any call may grow memory: callers re-create their typed-array views after each call.

use std::cell::RefCell;

use relu_repair_core::patch::slack_excess;
use relu_repair_core::patch::{constant_patch_for, minimal_patch_with, BoxGate};
use relu_repair_core::{Error, Layer, LinearRegion, Network, PatchNetwork, Proof, RepairedNetwork, Simplex, Spec};
use relu_repair_core::{band_box, certify_region_with, CertifyOptions, EnumerateOptions, RegionEnumerator, Step};

const OK: i32 = 0;
const INVALID: i32 = -1;
const LP_FAILURE: i32 = -2;
const BAD_HANDLE: i32 = -3;

struct RegionState {
    region: LinearRegion,
    simplex: Option<Simplex>,
    support: Option<(Vec<f64>, Vec<f64>)>,
    /// Region row copied by each support row (−1 − j for box faces of input j).
    support_index: Vec<f64>,
}

enum Obj {
    Net(Network),
    Region(Box<RegionState>),
    Repaired(RepairedNetwork),
    // Area repair (issue 4)
    Enumerator(Box<RegionEnumerator>),
    Certifier(Box<CertifierState>),
}

thread_local! {
    static OBJECTS: RefCell<Vec<Option<Obj>>> = RefCell::new(Vec::new());
    static MESSAGE: RefCell<String> = RefCell::new(String::new());
}

fn set_message(m: String) {
    MESSAGE.with(|s| *s.borrow_mut() = m);
}

fn fail(e: Error) -> i32 {
    let code = match e {
        Error::Invalid(_) => INVALID,
        Error::Lp(_) => LP_FAILURE,
    };
    set_message(e.to_string());
    code
}

fn bad_handle(h: i32, what: &str) -> i32 {
    set_message(format!("handle {} is not a live {}", h, what));
    BAD_HANDLE
}

fn store(o: Obj) -> i32 {
    OBJECTS.with(|objs| {
        let mut objs = objs.borrow_mut();
        if let Some(i) = objs.iter().position(|s| s.is_none()) {
            objs[i] = Some(o);
            (i + 1) as i32
        } else {
            objs.push(Some(o));
            objs.len() as i32
        }
    })
}

fn with_obj<R, F: FnOnce(&mut Obj) -> R>(h: i32, f: F) -> Option<R> {
    OBJECTS.with(|objs| {
        let mut objs = objs.borrow_mut();
        if h <= 0 || h as usize > objs.len() {
            return None;
        }
        objs[h as usize - 1].as_mut().map(f)
    })
}

fn slice<'a>(p: *const f64, len: usize) -> &'a [f64] {
    if len == 0 {
        &[]
    } else {
        // SAFETY: the caller passes a buffer of `len` f64 from rr_alloc.
        unsafe { std::slice::from_raw_parts(p, len) }
    }
}

fn slice_mut<'a>(p: *mut f64, len: usize) -> &'a mut [f64] {
    if len == 0 {
        &mut []
    } else {
        // SAFETY: as above, for an output buffer of `len` f64.
        unsafe { std::slice::from_raw_parts_mut(p, len) }
    }
}

fn write_out(out: *mut f64, values: &[f64]) {
    slice_mut(out, values.len()).copy_from_slice(values);
}

// ---------------------------------------------------------------------------------------------
// Memory and metadata

#[no_mangle]
pub extern "C" fn rr_alloc(bytes: usize) -> *mut u8 {
    let words = (bytes + 7) / 8;
    let mut v: Vec<u64> = Vec::with_capacity(words.max(1));
    let p = v.as_mut_ptr() as *mut u8;
    std::mem::forget(v);
    p
}

/// # Safety
/// `ptr` must come from `rr_alloc(bytes)` with the same `bytes`, and be freed once.
#[no_mangle]
pub unsafe extern "C" fn rr_free(ptr: *mut u8, bytes: usize) {
    let words = (bytes + 7) / 8;
    drop(Vec::from_raw_parts(ptr as *mut u64, 0, words.max(1)));
}

#[no_mangle]
pub extern "C" fn rr_message_ptr() -> *const u8 {
    MESSAGE.with(|s| s.borrow().as_ptr())
}

#[no_mangle]
pub extern "C" fn rr_message_len() -> usize {
    MESSAGE.with(|s| s.borrow().len())
}

/// Puts `{"core":"x.y.z","simd":true|false}` into the message buffer.
#[no_mangle]
pub extern "C" fn rr_version() -> i32 {
    let simd = cfg!(target_feature = "simd128");
    set_message(format!("{{\"core\":\"{}\",\"simd\":{}}}", relu_repair_core::VERSION, simd));
    OK
}

/// Grows linear memory ahead of a large job so that later calls do not have to.
#[no_mangle]
pub extern "C" fn rr_reserve_memory(bytes: usize) -> i32 {
    let v: Vec<u8> = Vec::with_capacity(bytes);
    drop(v);
    OK
}

/// Panics on purpose: lets tests check that a trap reaches JavaScript as a typed error.
#[no_mangle]
pub extern "C" fn rr_debug_panic() -> i32 {
    panic!("rr_debug_panic called")
}

/// Releases any object. Releasing an unknown handle is an error (it signals a double free).
#[no_mangle]
pub extern "C" fn rr_release(h: i32) -> i32 {
    let ok = OBJECTS.with(|objs| {
        let mut objs = objs.borrow_mut();
        if h > 0 && (h as usize) <= objs.len() && objs[h as usize - 1].is_some() {
            objs[h as usize - 1] = None;
            true
        } else {
            false
        }
    });
    if ok { OK } else { bad_handle(h, "object") }
}

/// Number of live objects (leak checks in tests).
#[no_mangle]
pub extern "C" fn rr_live_objects() -> i32 {
    OBJECTS.with(|objs| objs.borrow().iter().filter(|o| o.is_some()).count() as i32)
}

// ---------------------------------------------------------------------------------------------
// Networks

/// `desc` = [L, (n_in, n_out, relu) × L, then per layer W (n_out × n_in row-major) and b].
#[no_mangle]
pub extern "C" fn rr_network_new(desc: *const f64, len: usize) -> i32 {
    match parse_network(slice(desc, len)) {
        Ok(net) => store(Obj::Net(net)),
        Err(e) => fail(e),
    }
}

fn parse_network(d: &[f64]) -> Result<Network, Error> {
    let bad = |m: &str| Error::Invalid(format!("network description: {}", m));
    if d.is_empty() {
        return Err(bad("empty"));
    }
    let layers = d[0] as usize;
    if d[0] != layers as f64 || layers == 0 || d.len() < 1 + 3 * layers {
        return Err(bad("bad layer count"));
    }
    let mut pos = 1 + 3 * layers;
    let mut out = Vec::with_capacity(layers);
    for l in 0..layers {
        let (ni, no, relu) = (d[1 + 3 * l] as usize, d[2 + 3 * l] as usize, d[3 + 3 * l] != 0.0);
        let need = ni * no + no;
        if pos + need > d.len() {
            return Err(bad(&format!("layer {} needs {} values, {} remain", l, need, d.len() - pos)));
        }
        out.push(Layer { n_in: ni, n_out: no, w: d[pos..pos + ni * no].to_vec(), b: d[pos + ni * no..pos + need].to_vec(), relu });
        pos += need;
    }
    if pos != d.len() {
        return Err(bad(&format!("{} trailing values", d.len() - pos)));
    }
    Network::new(out)
}

/// out = [n_in, n_out, hidden neurons, layers]
#[no_mangle]
pub extern "C" fn rr_network_info(h: i32, out: *mut f64) -> i32 {
    with_obj(h, |o| match o {
        Obj::Net(n) => {
            write_out(out, &[n.n_in() as f64, n.n_out() as f64, n.hidden_count() as f64, n.layers.len() as f64]);
            OK
        }
        _ => bad_handle(h, "network"),
    })
    .unwrap_or_else(|| bad_handle(h, "network"))
}

#[no_mangle]
pub extern "C" fn rr_network_forward(h: i32, xs: *const f64, n: usize, out: *mut f64) -> i32 {
    with_obj(h, |o| match o {
        Obj::Net(net) => {
            net.forward_batch(slice(xs, n * net.n_in()), n, slice_mut(out, n * net.n_out()));
            OK
        }
        _ => bad_handle(h, "network"),
    })
    .unwrap_or_else(|| bad_handle(h, "network"))
}

/// Activation patterns of n inputs, one f64 (0 or 1) per hidden neuron.
#[no_mangle]
pub extern "C" fn rr_network_patterns(h: i32, xs: *const f64, n: usize, out: *mut f64) -> i32 {
    with_obj(h, |o| match o {
        Obj::Net(net) => {
            let (ni, hc) = (net.n_in(), net.hidden_count());
            let xs = slice(xs, n * ni);
            let out = slice_mut(out, n * hc);
            for p in 0..n {
                let pat = net.pattern(&xs[p * ni..(p + 1) * ni]);
                for (i, &b) in pat.iter().enumerate() {
                    out[p * hc + i] = b as f64;
                }
            }
            OK
        }
        _ => bad_handle(h, "network"),
    })
    .unwrap_or_else(|| bad_handle(h, "network"))
}

// ---------------------------------------------------------------------------------------------
// Linear regions

fn network_clone(h: i32) -> Option<Network> {
    with_obj(h, |o| match o {
        Obj::Net(n) => Some(n.clone()),
        _ => None,
    })
    .flatten()
}

fn with_network<R, F: FnOnce(&Network) -> R>(h: i32, f: F) -> Option<R> {
    with_obj(h, |o| match o {
        Obj::Net(n) => Some(f(n)),
        _ => None,
    })
    .flatten()
}

fn new_region(r: Result<LinearRegion, Error>) -> i32 {
    match r {
        Ok(region) => store(Obj::Region(Box::new(RegionState { region, simplex: None, support: None, support_index: Vec::new() }))),
        Err(e) => fail(e),
    }
}

#[no_mangle]
pub extern "C" fn rr_region_new(net: i32, x: *const f64, lower: *const f64, upper: *const f64) -> i32 {
    let r = with_network(net, |n| {
        let k = n.n_in();
        LinearRegion::of_point(n, slice(x, k), slice(lower, k), slice(upper, k))
    });
    match r {
        Some(r) => new_region(r),
        None => bad_handle(net, "network"),
    }
}

/// The region of an activation pattern (one f64 0/1 per hidden neuron).
#[no_mangle]
pub extern "C" fn rr_region_of_pattern(net: i32, pattern: *const f64, lower: *const f64, upper: *const f64) -> i32 {
    let r = with_network(net, |n| {
        let k = n.n_in();
        let pat: Vec<u8> = slice(pattern, n.hidden_count()).iter().map(|&v| if v != 0.0 { 1 } else { 0 }).collect();
        LinearRegion::of_pattern(n, pat, slice(lower, k), slice(upper, k))
    });
    match r {
        Some(r) => new_region(r),
        None => bad_handle(net, "network"),
    }
}

fn with_region<F: FnOnce(&mut RegionState) -> i32>(h: i32, f: F) -> i32 {
    with_obj(h, |o| match o {
        Obj::Region(r) => f(r),
        _ => bad_handle(h, "region"),
    })
    .unwrap_or_else(|| bad_handle(h, "region"))
}

/// Intersects a region with an input set {x : A x <= b} (m rows). Clears cached LP state.
#[no_mangle]
pub extern "C" fn rr_region_intersect(h: i32, a: *const f64, b: *const f64, m: usize) -> i32 {
    with_region(h, |s| {
        let n = s.region.n_in;
        match s.region.intersect(slice(a, m * n), slice(b, m)) {
            Ok(()) => {
                s.simplex = None;
                s.support = None;
                OK
            }
            Err(e) => fail(e),
        }
    })
}

/// out = [n_in, n_out, neuron rows, hidden neurons, constant neurons, support rows or -1]
#[no_mangle]
pub extern "C" fn rr_region_info(h: i32, out: *mut f64) -> i32 {
    with_region(h, |s| {
        let r = &s.region;
        let support = s.support.as_ref().map_or(-1.0, |(_, b)| b.len() as f64);
        write_out(out, &[r.n_in as f64, r.n_out as f64, r.rows() as f64, r.pattern.len() as f64, r.constant_neurons as f64, support]);
        OK
    })
}

/// Copies one field: 0 rows A, 1 rhs b, 2 map F, 3 offset e, 4 pattern, 5 neuron index of each
/// row (-1 for input-set rows), 6 support rows, 7 support rhs, 8 lower, 9 upper, 10 region row of
/// each support row (−1 − j for box faces of input j), 11 row norms before normalisation.
#[no_mangle]
pub extern "C" fn rr_region_read(h: i32, what: i32, out: *mut f64) -> i32 {
    with_region(h, |s| {
        let r = &s.region;
        let tmp: Vec<f64>;
        let v: &[f64] = match what {
            0 => &r.a,
            1 => &r.b,
            2 => &r.f,
            3 => &r.e,
            4 => {
                tmp = r.pattern.iter().map(|&b| b as f64).collect();
                &tmp
            }
            5 => {
                tmp = r.neuron.iter().map(|&i| if i == relu_repair_core::INPUT_ROW { -1.0 } else { i as f64 }).collect();
                &tmp
            }
            6 | 7 => match &s.support {
                Some((a, b)) => {
                    if what == 6 {
                        a
                    } else {
                        b
                    }
                }
                None => {
                    set_message("region: support rows have not been computed (call rr_region_support_rows)".to_string());
                    return INVALID;
                }
            },
            8 => &r.lower,
            9 => &r.upper,
            10 => &s.support_index,
            11 => &r.norm,
            _ => {
                set_message(format!("region: unknown field {}", what));
                return INVALID;
            }
        };
        write_out(out, v);
        OK
    })
}

/// Computes the support rows (prune = 1: drop redundant rows by LP; 0: keep every row; with_box
/// = 1: append the box faces, for supports not gated by a shared box indicator).
/// Returns the number of rows, or a negative status.
#[no_mangle]
pub extern "C" fn rr_region_support_rows(h: i32, prune: i32, with_box: i32, tol: f64) -> i32 {
    with_region(h, |s| {
        let rows = s.region.support_rows_indexed(if prune != 0 { Some(tol) } else { None }, with_box != 0);
        match rows {
            Ok((a, b, idx)) => {
                let m = b.len() as i32;
                s.support = Some((a, b));
                s.support_index = idx.iter().map(|&i| i as f64).collect();
                m
            }
            Err(e) => fail(e),
        }
    })
}

fn write_solution(out: *mut f64, sol: &relu_repair_core::LpSolution, constant: f64) {
    let mut v = vec![sol.lower + constant, sol.upper + constant, sol.infeasibility, sol.pivots as f64];
    v.extend_from_slice(&sol.x);
    write_out(out, &v);
}

/// max over the region of w·(F x + e). out = [lower, upper, infeasibility, pivots, x...].
/// Successive calls on one region warm-start from the previous optimal basis.
#[no_mangle]
pub extern "C" fn rr_region_max_output(h: i32, w: *const f64, out: *mut f64) -> i32 {
    with_region(h, |s| {
        let w = slice(w, s.region.n_out);
        let region = &s.region;
        let sx = s.simplex.get_or_insert_with(|| region.simplex());
        match region.max_output(sx, w) {
            Ok((sol, k)) => {
                write_solution(out, &sol, k);
                OK
            }
            Err(e) => fail(e),
        }
    })
}

/// max over the region of c·x. out as for rr_region_max_output.
#[no_mangle]
pub extern "C" fn rr_region_maximize(h: i32, c: *const f64, out: *mut f64) -> i32 {
    with_region(h, |s| {
        let c = slice(c, s.region.n_in);
        let region = &s.region;
        let sx = s.simplex.get_or_insert_with(|| region.simplex());
        match sx.maximize(c) {
            Ok(sol) => {
                write_solution(out, &sol, 0.0);
                OK
            }
            Err(e) => fail(e),
        }
    })
}

/// The lower-bound / constant-patch path on one region for Φ_out = {P y <= q}. With
/// `exact_rows` = 0, label-spec rows that cannot decide the norm are only bounded (certified),
/// not maximised; with 1 every row's maximum is computed.
/// out = [proof (0 not needed, 1 constant patch, 2 needs full LP), lower bound, norm, residual,
///        lps, pivots, rounding, d (k), worst_lower (rows), worst_upper (rows),
///        witnesses (rows × n_in)].
#[no_mangle]
pub extern "C" fn rr_region_minimal_patch(h: i32, p: *const f64, q: *const f64, rows: usize, exact_rows: i32, out: *mut f64) -> i32 {
    with_region(h, |s| {
        let k = s.region.n_out;
        let spec = match Spec::new(k, slice(p, rows * k).to_vec(), slice(q, rows).to_vec()) {
            Ok(sp) => sp,
            Err(e) => return fail(e),
        };
        match minimal_patch_with(&s.region, &spec, exact_rows != 0) {
            Ok(mp) => {
                let proof = match mp.proof {
                    Proof::NotNeeded => 0.0,
                    Proof::ConstantPatch => 1.0,
                    Proof::NeedsFullLp => 2.0,
                };
                let mut v = vec![proof, mp.lower_bound, mp.norm, mp.residual, mp.lps as f64, mp.pivots as f64, mp.rounding];
                if mp.d.is_empty() {
                    v.extend(std::iter::repeat(f64::NAN).take(k));
                } else {
                    v.extend_from_slice(&mp.d);
                }
                v.extend_from_slice(&mp.worst_lower);
                v.extend_from_slice(&mp.worst_upper);
                v.extend_from_slice(&mp.witnesses);
                write_out(out, &v);
                OK
            }
            Err(e) => fail(e),
        }
    })
}

/// Σ_i (a_i·x − b_i)⁺ for each of `npts` points (the support of a patch with these rows is 0
/// exactly where this reaches its radius).
#[no_mangle]
pub extern "C" fn rr_slack_excess(a: *const f64, b: *const f64, m: usize, n: usize, xs: *const f64, npts: usize, out: *mut f64) -> i32 {
    slack_excess(slice(a, m * n), slice(b, m), n, slice(xs, npts * n), slice_mut(out, npts));
    OK
}

// ---------------------------------------------------------------------------------------------
// Repaired networks

#[no_mangle]
pub extern "C" fn rr_repaired_new(net: i32) -> i32 {
    match network_clone(net) {
        Some(n) => store(Obj::Repaired(RepairedNetwork::new(n))),
        None => bad_handle(net, "network"),
    }
}

fn with_repaired<F: FnOnce(&mut RepairedNetwork) -> i32>(h: i32, f: F) -> i32 {
    with_obj(h, |o| match o {
        Obj::Repaired(r) => f(r),
        _ => bad_handle(h, "repaired network"),
    })
    .unwrap_or_else(|| bad_handle(h, "repaired network"))
}

/// desc = [m, radius, kind (0 constant, 1 affine), A (m × n), b (m), d (k), then for affine
/// C (k × n) and H (k)].
#[no_mangle]
pub extern "C" fn rr_repaired_add_patch(h: i32, desc: *const f64, len: usize) -> i32 {
    with_repaired(h, |rep| {
        let (n, k) = (rep.original.n_in(), rep.original.n_out());
        let d = slice(desc, len);
        let parsed = (|| -> Result<PatchNetwork, Error> {
            let bad = |m: String| Error::Invalid(format!("patch description: {}", m));
            if d.len() < 3 {
                return Err(bad("too short".to_string()));
            }
            let m = d[0] as usize;
            let affine = d[2] != 0.0;
            let need = 3 + m * n + m + k + if affine { k * n + k } else { 0 };
            if d.len() != need {
                return Err(bad(format!("{} values, expected {}", d.len(), need)));
            }
            let mut pos = 3;
            let mut take = |len: usize| {
                let v = d[pos..pos + len].to_vec();
                pos += len;
                v
            };
            let a = take(m * n);
            let b = take(m);
            let dd = take(k);
            let (c, hh) = if affine { (take(k * n), take(k)) } else { (Vec::new(), Vec::new()) };
            PatchNetwork::new(n, k, a, b, d[1], c, dd, hh)
        })();
        match parsed.and_then(|p| rep.add_patch(p)) {
            Ok(()) => OK,
            Err(e) => fail(e),
        }
    })
}

/// Gates every patch of the repaired network with one shared indicator of the box [lo, hi].
#[no_mangle]
pub extern "C" fn rr_repaired_set_box_gate(h: i32, lo: *const f64, hi: *const f64, radius: f64) -> i32 {
    with_repaired(h, |rep| {
        let n = rep.original.n_in();
        match BoxGate::new(slice(lo, n).to_vec(), slice(hi, n).to_vec(), radius).and_then(|g| rep.set_box_gate(g)) {
            Ok(()) => OK,
            Err(e) => fail(e),
        }
    })
}

/// Composition of the constant patches: 0 sum, 1 chain in patch order (see
/// `RepairedNetwork::chain`).
#[no_mangle]
pub extern "C" fn rr_repaired_set_chain(h: i32, chain: i32) -> i32 {
    with_repaired(h, |rep| {
        rep.chain = chain != 0;
        OK
    })
}

/// The chain weights (or supports, for sum composition and affine patches) of every patch at n
/// points: `n × patches`.
#[no_mangle]
pub extern "C" fn rr_repaired_weights(h: i32, xs: *const f64, n: usize, out: *mut f64) -> i32 {
    with_repaired(h, |rep| {
        let ni = rep.original.n_in();
        let np = rep.patches.len();
        let (xs, out) = (slice(xs, n * ni), slice_mut(out, n * np));
        for i in 0..n {
            rep.chain_weights(&xs[i * ni..(i + 1) * ni], &mut out[i * np..(i + 1) * np]);
        }
        OK
    })
}

/// The minimal constant patch for worst violations v (rows) of Φ_out = {P y <= q} with k
/// outputs. out = [feasible (0/1), norm, d (k)].
#[no_mangle]
pub extern "C" fn rr_constant_patch(p: *const f64, q: *const f64, rows: usize, k: usize, v: *const f64, out: *mut f64) -> i32 {
    let result = Spec::new(k, slice(p, rows * k).to_vec(), slice(q, rows).to_vec()).and_then(|spec| constant_patch_for(&spec, slice(v, rows)));
    match result {
        Ok(Some((d, t))) => {
            let mut o = vec![1.0, t];
            o.extend_from_slice(&d);
            write_out(out, &o);
            OK
        }
        Ok(None) => {
            let mut o = vec![0.0, f64::INFINITY];
            o.extend(std::iter::repeat(f64::NAN).take(k));
            write_out(out, &o);
            OK
        }
        Err(e) => fail(e),
    }
}

#[no_mangle]
pub extern "C" fn rr_repaired_forward(h: i32, xs: *const f64, n: usize, out: *mut f64) -> i32 {
    with_repaired(h, |rep| {
        let (ni, no) = (rep.original.n_in(), rep.original.n_out());
        rep.forward_batch(slice(xs, n * ni), n, slice_mut(out, n * no));
        OK
    })
}

/// Support values of every patch at n points: `n × patches`.
#[no_mangle]
pub extern "C" fn rr_repaired_supports(h: i32, xs: *const f64, n: usize, out: *mut f64) -> i32 {
    with_repaired(h, |rep| {
        let ni = rep.original.n_in();
        let np = rep.patches.len();
        rep.supports(slice(xs, n * ni), n, slice_mut(out, n * np));
        OK
    })
}

// ---------------------------------------------------------------------------------------------
// Area repair (issue 4): region enumeration and certificates

fn read_opts(p: *const f64, len: usize) -> Vec<f64> {
    slice(p, len).to_vec()
}

fn count_opt(v: f64, what: &str) -> Result<usize, Error> {
    if v.is_finite() && v >= 1.0 && v <= 1e15 && v == v.floor() {
        Ok(v as usize)
    } else {
        Err(Error::Invalid(format!("{} must be a whole number >= 1 (got {})", what, v)))
    }
}

/// Every linear region of network `net` in the box [lower, upper] ∩ {x : A x <= b} (m rows,
/// m = 0 for the box alone). opts = [eps, min_radius, max_regions]. Returns a handle; the work
/// happens in `rr_enum_step`.
#[no_mangle]
pub extern "C" fn rr_enum_new(net: i32, lower: *const f64, upper: *const f64, a: *const f64, b: *const f64, m: usize, opts: *const f64) -> i32 {
    let o = read_opts(opts, 3);
    let r = with_network(net, |n| {
        let k = n.n_in();
        let max_regions = count_opt(o[2], "enumeration: the region limit")?;
        RegionEnumerator::new(n, slice(lower, k), slice(upper, k), slice(a, m * k), slice(b, m), EnumerateOptions { eps: o[0], min_radius: o[1], max_regions })
    });
    match r {
        Some(Ok(en)) => store(Obj::Enumerator(Box::new(en))),
        Some(Err(e)) => fail(e),
        None => bad_handle(net, "network"),
    }
}

fn with_enumerator<F: FnOnce(&mut RegionEnumerator) -> i32>(h: i32, f: F) -> i32 {
    with_obj(h, |o| match o {
        Obj::Enumerator(e) => f(e),
        _ => bad_handle(h, "region enumerator"),
    })
    .unwrap_or_else(|| bad_handle(h, "region enumerator"))
}

/// Runs the enumeration for about `max_lps` LPs. out = [state (0 more, 1 done, 2 region limit
/// reached), regions, pending cells, LPs, explored share, thin cells dropped, empty cells, hidden].
#[no_mangle]
pub extern "C" fn rr_enum_step(h: i32, max_lps: usize, out: *mut f64) -> i32 {
    with_enumerator(h, |en| match en.step(max_lps) {
        Ok(s) => {
            let state = match s {
                Step::More => 0.0,
                Step::Done => 1.0,
                Step::Limit => 2.0,
            };
            write_out(out, &[state, en.count() as f64, en.pending() as f64, en.lps() as f64, en.progress(), en.thin as f64, en.empty() as f64, en.hidden() as f64]);
            OK
        }
        Err(e) => fail(e),
    })
}

/// Copies the regions found so far from region `from` on: 0 patterns (hidden per region, 0/1),
/// 1 Chebyshev centres (n_in per region), 2 Chebyshev radii.
#[no_mangle]
pub extern "C" fn rr_enum_read(h: i32, what: i32, from: usize, out: *mut f64) -> i32 {
    with_enumerator(h, |en| {
        let from = from.min(en.count());
        let (hid, n) = (en.hidden(), en.centres.len() / en.count().max(1));
        let v: Vec<f64> = match what {
            0 => en.patterns[from * hid..].iter().map(|&b| b as f64).collect(),
            1 => en.centres[from * n..].to_vec(),
            2 => en.radii[from..].to_vec(),
            _ => {
                set_message(format!("enumeration: unknown field {}", what));
                return INVALID;
            }
        };
        write_out(out, &v);
        OK
    })
}

struct CertifierState {
    rep: RepairedNetwork,
    spec: Spec,
    lower: Vec<f64>,
    upper: Vec<f64>,
    set_a: Vec<f64>,
    set_b: Vec<f64>,
    opts: CertifyOptions,
    /// Bounding boxes of the patch bands, computed at the first region.
    bands: Option<Vec<Option<(Vec<f64>, Vec<f64>)>>>,
}

/// A certifier for the repaired network `rep` (copied), Φ_out = {P y <= q} (rows), regions taken
/// in the box [lower, upper] ∩ {x : A x <= b} (m rows). opts = [rtol, eps, max_pieces,
/// bound_helpful (0/1)].
#[no_mangle]
pub extern "C" fn rr_certifier_new(rep: i32, lower: *const f64, upper: *const f64, a: *const f64, b: *const f64, m: usize, p: *const f64, q: *const f64, rows: usize, opts: *const f64) -> i32 {
    let o = read_opts(opts, 4);
    let r = with_obj(rep, |obj| match obj {
        Obj::Repaired(r) => Some(r.clone()),
        _ => None,
    })
    .flatten();
    let rep_net = match r {
        Some(r) => r,
        None => return bad_handle(rep, "repaired network"),
    };
    let (n, k) = (rep_net.original.n_in(), rep_net.original.n_out());
    let chain = rep_net.chain;
    let built = (|| -> Result<CertifierState, Error> {
        let spec = Spec::new(k, slice(p, rows * k).to_vec(), slice(q, rows).to_vec())?;
        let max_pieces = count_opt(o[2], "certificate: the piece limit")?;
        Ok(CertifierState {
            rep: rep_net,
            spec,
            lower: slice(lower, n).to_vec(),
            upper: slice(upper, n).to_vec(),
            set_a: slice(a, m * n).to_vec(),
            set_b: slice(b, m).to_vec(),
            opts: CertifyOptions { rtol: o[0], eps: o[1], max_pieces, bound_helpful: o[3] != 0.0, chain },
            bands: None,
        })
    })();
    match built {
        Ok(c) => store(Obj::Certifier(Box::new(c))),
        Err(e) => fail(e),
    }
}

/// Certifies the region of `pattern` (one f64 0/1 per hidden neuron). out = [certified (0/1),
/// max violation bound, tolerance, pieces, empty pieces, LPs, worst spec row, witness value,
/// error budget, exactly modelled patches, relevant patches P, witness (n_in), patch indices (P)];
/// size it 11 + n_in + number of patches.
#[no_mangle]
pub extern "C" fn rr_certifier_region(h: i32, pattern: *const f64, out: *mut f64) -> i32 {
    with_obj(h, |o| match o {
        Obj::Certifier(c) => {
            if c.bands.is_none() {
                let boxes: Result<Vec<_>, Error> = c.rep.patches.iter().map(|p| band_box(p, &c.lower, &c.upper)).collect();
                match boxes {
                    Ok(b) => c.bands = Some(b),
                    Err(e) => return fail(e),
                }
            }
            let net = &c.rep.original;
            let pat: Vec<u8> = slice(pattern, net.hidden_count()).iter().map(|&v| if v != 0.0 { 1 } else { 0 }).collect();
            let result = LinearRegion::of_pattern(net, pat, &c.lower, &c.upper).and_then(|mut region| {
                if !c.set_b.is_empty() {
                    region.intersect(&c.set_a, &c.set_b)?;
                }
                certify_region_with(&region, &c.rep.patches, c.rep.box_gate.as_ref(), c.bands.as_deref().unwrap_or(&[]), &c.spec, &c.opts)
            });
            match result {
                Ok(cert) => {
                    let mut v = vec![
                        if cert.certified { 1.0 } else { 0.0 },
                        cert.max_violation,
                        cert.tolerance,
                        cert.pieces as f64,
                        cert.empty_pieces as f64,
                        cert.lps as f64,
                        cert.worst_row as f64,
                        cert.witness_value,
                        cert.error_budget,
                        cert.exact_patches as f64,
                        cert.patches.len() as f64,
                    ];
                    if cert.witness.len() == net.n_in() {
                        v.extend_from_slice(&cert.witness);
                    } else {
                        v.extend(std::iter::repeat(f64::NAN).take(net.n_in()));
                    }
                    v.extend(cert.patches.iter().map(|&i| i as f64));
                    write_out(out, &v);
                    OK
                }
                Err(e) => fail(e),
            }
        }
        _ => bad_handle(h, "certifier"),
    })
    .unwrap_or_else(|| bad_handle(h, "certifier"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg() -> String {
        // SAFETY: message buffer is valid UTF-8 of the reported length.
        unsafe { String::from_utf8_lossy(std::slice::from_raw_parts(rr_message_ptr(), rr_message_len())).into_owned() }
    }

    #[test]
    fn network_region_and_patch_through_the_abi() {
        // 2 -> 2 (relu) -> 2
        let desc = [2.0, 2.0, 2.0, 1.0, 2.0, 2.0, 0.0, 1.0, 0.0, 0.0, 1.0, 0.0, 0.0, 1.0, -1.0, -1.0, 1.0, 0.0, 0.0];
        let net = rr_network_new(desc.as_ptr(), desc.len());
        assert!(net > 0, "{}", msg());
        let mut info = [0.0; 4];
        assert_eq!(rr_network_info(net, info.as_mut_ptr()), OK);
        assert_eq!(info, [2.0, 2.0, 2.0, 2.0]);
        let x = [0.5, 0.25];
        let mut y = [0.0; 2];
        assert_eq!(rr_network_forward(net, x.as_ptr(), 1, y.as_mut_ptr()), OK);
        assert_eq!(y, [0.25, -0.25]);
        let (lo, hi) = ([0.0, 0.0], [1.0, 1.0]);
        let reg = rr_region_new(net, x.as_ptr(), lo.as_ptr(), hi.as_ptr());
        assert!(reg > 0, "{}", msg());
        // Label 1 must win: P = [1, -1], q = 0.
        let p = [1.0, -1.0];
        let q = [0.0];
        let mut out = vec![0.0; 7 + 2 + 2 + 2];
        assert_eq!(rr_region_minimal_patch(reg, p.as_ptr(), q.as_ptr(), 1, 1, out.as_mut_ptr()), OK, "{}", msg());
        assert_eq!(out[0], 1.0); // constant patch proven minimal
        // max over [0,1]^2 of (x0 - x1) - (x1 - x0) = 2 (x0 - x1) = 2 at (1, 0); t = 1.
        assert!((out[2] - 1.0).abs() < 1e-12);
        assert!(rr_region_support_rows(reg, 1, 1, 1e-9) > 0);
        assert_eq!(rr_release(reg), OK);
        assert_eq!(rr_release(reg), BAD_HANDLE);
        let rep = rr_repaired_new(net);
        let pd = [1.0, 0.1, 0.0, 1.0, 0.0, 1.0, 1.0, -1.0];
        assert_eq!(rr_repaired_add_patch(rep, pd.as_ptr(), pd.len()), OK, "{}", msg());
        assert_eq!(rr_repaired_forward(rep, x.as_ptr(), 1, y.as_mut_ptr()), OK);
        assert_eq!(y, [1.25, -1.25]);
        let bad = [1.0, 0.1, 0.0];
        assert_eq!(rr_repaired_add_patch(rep, bad.as_ptr(), bad.len()), INVALID);
        assert!(msg().contains("expected 8"), "{}", msg());
        assert_eq!(rr_release(rep), OK);
        assert_eq!(rr_release(net), OK);
    }

    #[test]
    fn errors_carry_messages() {
        let desc = [1.0, 2.0, 1.0, 0.0, 1.0];
        assert_eq!(rr_network_new(desc.as_ptr(), desc.len()), INVALID);
        assert!(msg().contains("layer 0 needs 3 values"), "{}", msg());
        let mut out = [0.0; 4];
        assert_eq!(rr_network_info(12345, out.as_mut_ptr()), BAD_HANDLE);
        assert_eq!(rr_version(), OK);
        assert!(msg().starts_with("{\"core\":"));
    }

    #[test]
    fn enumeration_and_certificates_through_the_abi() {
        // y = (relu(x0), relu(-x0)) on [-1, 1]: two regions; label 0 wins only where x0 >= 0.
        let desc = [2.0, 1.0, 2.0, 1.0, 2.0, 2.0, 0.0, 1.0, -1.0, 0.0, 0.0, 1.0, 0.0, 0.0, 1.0, 0.0, 0.0];
        let net = rr_network_new(desc.as_ptr(), desc.len());
        assert!(net > 0, "{}", msg());
        let (lo, hi) = ([-1.0], [1.0]);
        let opts = [1e-9, 1e-9, 10.0];
        let en = rr_enum_new(net, lo.as_ptr(), hi.as_ptr(), [].as_ptr(), [].as_ptr(), 0, opts.as_ptr());
        assert!(en > 0, "{}", msg());
        let mut st = [0.0; 8];
        assert_eq!(rr_enum_step(en, 1000, st.as_mut_ptr()), OK, "{}", msg());
        assert_eq!(st[0], 1.0);
        assert_eq!(st[1], 2.0);
        let mut pats = [0.0; 4];
        assert_eq!(rr_enum_read(en, 0, 0, pats.as_mut_ptr()), OK);
        let mut centres = [0.0; 2];
        assert_eq!(rr_enum_read(en, 1, 0, centres.as_mut_ptr()), OK);
        let mut last = [0.0; 1];
        assert_eq!(rr_enum_read(en, 2, 1, last.as_mut_ptr()), OK);
        assert!((last[0] - 0.5).abs() < 1e-9, "radius of the second region {}", last[0]);
        for r in 0..2 {
            assert_eq!(pats[2 * r], if centres[r] >= 0.0 { 1.0 } else { 0.0 });
        }
        let bad = [1e-9, 1e-9, 0.5];
        assert_eq!(rr_enum_new(net, lo.as_ptr(), hi.as_ptr(), [].as_ptr(), [].as_ptr(), 0, bad.as_ptr()), INVALID);
        assert!(msg().contains("region limit"), "{}", msg());
        // Unrepaired network, spec y1 - y0 <= 0: certified on the x0 >= 0 region only.
        let rep = rr_repaired_new(net);
        let (p, q) = ([-1.0, 1.0], [0.0]);
        let copts = [1e-9, 0.0, 1000.0, 1.0];
        let cert = rr_certifier_new(rep, lo.as_ptr(), hi.as_ptr(), [].as_ptr(), [].as_ptr(), 0, p.as_ptr(), q.as_ptr(), 1, copts.as_ptr());
        assert!(cert > 0, "{}", msg());
        let mut out = [0.0; 12];
        for r in 0..2 {
            assert_eq!(rr_certifier_region(cert, pats[2 * r..].as_ptr(), out.as_mut_ptr()), OK, "{}", msg());
            assert_eq!(out[0], if centres[r] >= 0.0 { 1.0 } else { 0.0 });
            if out[0] == 0.0 {
                assert!((out[1] - 1.0).abs() < 1e-9, "worst violation 1 at x0 = -1: {}", out[1]);
                assert!((out[11] + 1.0).abs() < 1e-9);
            }
        }
        for h in [cert, rep, en, net] {
            assert_eq!(rr_release(h), OK);
        }
    }
}
