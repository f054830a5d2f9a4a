//! Linear regions behind handles (core `region.rs`; TypeScript twin `ts/region.ts`).

use relu_repair_core::{Error, LinearRegion, LpSolution, Network, Simplex, INPUT_ROW};

use crate::abi::{Code, Status, LP_SOLUTION, REGION_FIELDS, REGION_INFO, SUPPORT_ROWS_OPTIONS};
use crate::handles::{bad_handle, bytes, fail, on, set_message, slice, status, store, with, write_out};
use crate::json::Object;
use crate::layout::{field_values, Writer};

pub struct RegionState {
    pub region: LinearRegion,
    /// Warm-started simplex of the LPs over the region (dropped when the region changes).
    pub simplex: Option<Simplex>,
    pub support: Option<SupportRows>,
}

/// The rows computed by `rr_region_support_rows`.
pub struct SupportRows {
    pub a: Vec<f64>,
    pub b: Vec<f64>,
    /// Region row copied by each support row (−1 − j for box faces of input j).
    pub index: Vec<i64>,
}

fn new_region(net: i32, build: impl FnOnce(&Network) -> Result<LinearRegion, Error>) -> i32 {
    match with(net, |n: &mut Network| build(n)) {
        Some(Ok(region)) => store(RegionState { region, simplex: None, support: None }),
        Some(Err(e)) => fail(e),
        None => bad_handle(net, "network"),
    }
}

/// The linear region of the point `x` inside the box [lower, upper].
#[no_mangle]
pub extern "C" fn rr_region_new(net: i32, x: *const f64, lower: *const f64, upper: *const f64) -> i32 {
    new_region(net, |n| {
        let k = n.n_in();
        LinearRegion::of_point(n, slice(x, k), slice(lower, k), slice(upper, k))
    })
}

/// The region of an activation pattern (one f64 0/1 per hidden neuron) inside the box.
#[no_mangle]
pub extern "C" fn rr_region_of_pattern(net: i32, pattern: *const f64, lower: *const f64, upper: *const f64) -> i32 {
    new_region(net, |n| {
        let k = n.n_in();
        let pat: Vec<u8> = slice(pattern, n.hidden_count()).iter().map(|&v| if v != 0.0 { 1 } else { 0 }).collect();
        LinearRegion::of_pattern(n, pat, slice(lower, k), slice(upper, k))
    })
}

fn on_region(h: i32, f: impl FnOnce(&mut RegionState) -> i32) -> i32 {
    on(h, "region", f)
}

/// Intersects a region with an input set {x : A x <= b} (m rows). Clears cached LP state.
#[no_mangle]
pub extern "C" fn rr_region_intersect(h: i32, a: *const f64, b: *const f64, m: usize) -> i32 {
    on_region(h, |s| {
        let n = s.region.n_in;
        let r = s.region.intersect(slice(a, m * n), slice(b, m));
        if r.is_ok() {
            s.simplex = None;
            s.support = None;
        }
        status(r.map(|_| 0))
    })
}

/// Writes [`REGION_INFO`].
#[no_mangle]
pub extern "C" fn rr_region_info(h: i32, out: *mut f64) -> i32 {
    on_region(h, |s| {
        let r = &s.region;
        let mut w = Writer::new(&REGION_INFO, &[]);
        w.count("inputs", r.n_in);
        w.count("outputs", r.n_out);
        w.count("rows", r.rows());
        w.count("hidden", r.pattern.len());
        w.count("constantNeurons", r.constant_neurons);
        w.count("impliedRows", r.implied.total());
        w.count("impliedLps", r.implied.lps);
        w.count("impliedWithoutLp", r.implied.without_lp);
        w.optional_count("supportRows", s.support.as_ref().map(|sr| sr.b.len()));
        write_out(out, &w.finish())
    })
}

/// Writes the field of [`REGION_FIELDS`] with code `field` (its position in the table).
#[no_mangle]
pub extern "C" fn rr_region_read(h: i32, field: i32, out: *mut f64) -> i32 {
    on_region(h, |s| {
        let r = &s.region;
        let name = match usize::try_from(field).ok().and_then(|i| REGION_FIELDS.fields.get(i)) {
            Some(f) => f.name,
            None => {
                set_message(format!("region: unknown field {}", field));
                return Status::Invalid.code();
            }
        };
        let support = s.support.as_ref();
        let support_rows = support.map_or(0, |sr| sr.b.len());
        if support.is_none() && name.starts_with("support") {
            set_message("region: support rows have not been computed (call rr_region_support_rows)".to_string());
            return Status::Invalid.code();
        }
        let dims = [
            ("inputs", r.n_in),
            ("outputs", r.n_out),
            ("rows", r.rows()),
            ("hidden", r.pattern.len()),
            ("supportRows", support_rows),
        ];
        let v: Vec<f64> = match (name, support) {
            ("A", _) => r.a.clone(),
            ("b", _) => r.b.clone(),
            ("F", _) => r.f.clone(),
            ("e", _) => r.e.clone(),
            ("pattern", _) => r.pattern.iter().map(|&b| b as f64).collect(),
            ("rowNeuron", _) => r.neuron.iter().map(|&i| if i == INPUT_ROW { -1.0 } else { i as f64 }).collect(),
            ("supportA", Some(sr)) => sr.a.clone(),
            ("supportB", Some(sr)) => sr.b.clone(),
            ("lower", _) => r.lower.clone(),
            ("upper", _) => r.upper.clone(),
            ("supportIndex", Some(sr)) => sr.index.iter().map(|&i| i as f64).collect(),
            ("rowNorms", _) => r.norm.clone(),
            _ => unreachable!("every field of the table is handled"),
        };
        write_out(out, &field_values(&REGION_FIELDS, name, &dims, v))
    })
}

/// Computes the support rows with [`SUPPORT_ROWS_OPTIONS`] (JSON); the number of rows.
#[no_mangle]
pub extern "C" fn rr_region_support_rows(h: i32, opts: *const u8, opts_len: usize) -> i32 {
    let o = match Object::parse(&SUPPORT_ROWS_OPTIONS, bytes(opts, opts_len)) {
        Ok(o) => o,
        Err(e) => return fail(e),
    };
    on_region(h, |s| {
        let tol = if o.flag("prune") { Some(o.number("tol")) } else { None };
        let rows = s.region.support_rows_indexed(tol, o.flag("withBox"));
        status(rows.map(|(a, b, index)| {
            let m = b.len();
            s.support = Some(SupportRows { a, b, index });
            m
        }))
    })
}

/// Writes an [`LP_SOLUTION`] for the maximum `sol` of an objective plus `constant`.
pub(crate) fn write_solution(out: *mut f64, n_in: usize, sol: &LpSolution, constant: f64) -> i32 {
    let dims = [("inputs", n_in)];
    let mut w = Writer::new(&LP_SOLUTION, &dims);
    w.real("lower", sol.lower + constant);
    w.real("upper", sol.upper + constant);
    w.real("infeasibility", sol.infeasibility);
    w.count("pivots", sol.pivots);
    w.reals("x", &sol.x);
    write_out(out, &w.finish())
}

/// max over the region of w·(F x + e), as an [`LP_SOLUTION`]. Successive calls on one region
/// warm-start from the previous optimal basis.
#[no_mangle]
pub extern "C" fn rr_region_max_output(h: i32, w: *const f64, out: *mut f64) -> i32 {
    on_region(h, |s| {
        let w = slice(w, s.region.n_out);
        let region = &s.region;
        let sx = s.simplex.get_or_insert_with(|| region.simplex());
        match region.max_output(sx, w) {
            Ok((sol, k)) => write_solution(out, region.n_in, &sol, k),
            Err(e) => fail(e),
        }
    })
}

/// max over the region of c·x, as an [`LP_SOLUTION`].
#[no_mangle]
pub extern "C" fn rr_region_maximize(h: i32, c: *const f64, out: *mut f64) -> i32 {
    on_region(h, |s| {
        let c = slice(c, s.region.n_in);
        let region = &s.region;
        let sx = s.simplex.get_or_insert_with(|| region.simplex());
        match sx.maximize(c) {
            Ok(sol) => write_solution(out, region.n_in, &sol, 0.0),
            Err(e) => fail(e),
        }
    })
}
