//! Sound bounds over a box (core `bounds/`; TypeScript twin `ts/bounds.ts`). Stateless: each
//! call reads the network of a handle through the core's adapter.

use relu_repair_core::bounds::{
    interval_bounds, row_bounds, rows_upper, BoundOptions, IntervalBounds, NetView, RowMethod, SymbolicBounds,
};
use relu_repair_core::{Error, Network};

use crate::abi::{BoundKind, BOUND_OPTIONS, PRE_ACTIVATION_BOUNDS, ROW_BOUND, ROW_UPPERS};
use crate::handles::{bad_handle, bytes, fail, slice, with, write_out};
use crate::json::Object;
use crate::layout::Writer;

pub fn bound_options(o: &Object) -> BoundOptions {
    BoundOptions {
        slope: o.code("slope"),
        back_substitute: o.flag("backSubstitute"),
        both_slopes: o.flag("bothSlopes"),
    }
}

fn row_method(o: &Object) -> RowMethod {
    match o.code::<BoundKind>("kind") {
        BoundKind::Interval => RowMethod::Interval,
        BoundKind::Symbolic => RowMethod::Symbolic,
        BoundKind::Lp => RowMethod::Lp,
        BoundKind::Best => RowMethod::Best,
    }
}

fn view_of(net: i32) -> Option<Result<NetView, Error>> {
    with(net, |n: &mut Network| NetView::new(n))
}

/// What every entry point here shares: the [`BOUND_OPTIONS`] object parsed and the network of
/// handle `net` viewed, then `f`'s encoded answer written to `out` (a bad option, a dead handle or
/// `f`'s error as the status).
fn bounds_call(
    net: i32,
    opts: *const u8,
    opts_len: usize,
    out: *mut f64,
    f: impl FnOnce(&NetView, &Object) -> Result<Vec<f64>, Error>,
) -> i32 {
    let o = match Object::parse(&BOUND_OPTIONS, bytes(opts, opts_len)) {
        Ok(o) => o,
        Err(e) => return fail(e),
    };
    let view = match view_of(net) {
        Some(Ok(v)) => v,
        Some(Err(e)) => return fail(e),
        None => return bad_handle(net, "network"),
    };
    match f(&view, &o) {
        Ok(v) => write_out(out, &v),
        Err(e) => fail(e),
    }
}

/// [`PRE_ACTIVATION_BOUNDS`] of network `net` over the box [lower, upper], by the method and
/// options of a [`BOUND_OPTIONS`] object.
#[no_mangle]
pub extern "C" fn rr_bounds_compute(
    net: i32,
    lower: *const f64,
    upper: *const f64,
    opts: *const u8,
    opts_len: usize,
    out: *mut f64,
) -> i32 {
    bounds_call(net, opts, opts_len, out, |view, o| {
        let n = view.n_in();
        let (lo, hi) = (slice(lower, n), slice(upper, n));
        let ib = interval_bounds(view, lo, hi)?;
        let (b, unstable) = match o.code::<BoundKind>("kind") {
            BoundKind::Interval => {
                let unstable = ib.unstable(view);
                (ib, unstable)
            }
            // The LP relaxation bounds spec rows only: pre-activations are the symbolic ones
            // (an LP per neuron would cost far more than it gains here).
            BoundKind::Symbolic | BoundKind::Lp | BoundKind::Best => {
                let sb = SymbolicBounds::compute_with(view, lo, hi, bound_options(o), &ib)?;
                let unstable = sb.unstable(view);
                (IntervalBounds { lower: sb.lower, upper: sb.upper, relu_out: ib.relu_out }, unstable)
            }
        };
        let neurons: usize = (0..view.layers()).map(|l| view.width(l)).sum();
        let dims = [("neurons", neurons), ("outputs", view.n_out())];
        let mut w = Writer::new(&PRE_ACTIVATION_BOUNDS, &dims);
        w.count("unstable", unstable);
        w.reals("lower", &b.lower.concat());
        w.reals("upper", &b.upper.concat());
        w.reals("outputLower", &b.output_lower());
        w.reals("outputUpper", &b.output_upper());
        Ok(w.finish())
    })
}

/// [`ROW_BOUND`] of `c·f(x) − q` over the box [lower, upper] (`c` has one entry per output).
#[no_mangle]
pub extern "C" fn rr_bounds_row(
    net: i32,
    lower: *const f64,
    upper: *const f64,
    c: *const f64,
    q: f64,
    opts: *const u8,
    opts_len: usize,
    out: *mut f64,
) -> i32 {
    bounds_call(net, opts, opts_len, out, |view, o| {
        let (n, k) = (view.n_in(), view.n_out());
        let (lo, hi, c) = (slice(lower, n), slice(upper, n), slice(c, k));
        let rb = row_bounds(view, lo, hi, c, q, row_method(o), bound_options(o))?;
        let dims = [("inputs", n)];
        let mut w = Writer::new(&ROW_BOUND, &dims);
        w.real("upper", rb.upper);
        w.real("interval", rb.interval);
        w.real("symbolic", rb.symbolic);
        w.real("lp", rb.lp);
        w.real("offset", rb.offset);
        w.reals("slope", &rb.slope);
        Ok(w.finish())
    })
}

/// [`ROW_UPPERS`]: upper bounds of `rows` spec rows `c_i·f(x) − q_i` over the box [lower, upper]
/// (`c` stacked row by row, one entry per output each), the passes computed once for all rows.
#[no_mangle]
pub extern "C" fn rr_bounds_rows(
    net: i32,
    lower: *const f64,
    upper: *const f64,
    c: *const f64,
    q: *const f64,
    rows: usize,
    opts: *const u8,
    opts_len: usize,
    out: *mut f64,
) -> i32 {
    bounds_call(net, opts, opts_len, out, |view, o| {
        let (n, k) = (view.n_in(), view.n_out());
        let (lo, hi, c, q) = (slice(lower, n), slice(upper, n), slice(c, rows * k), slice(q, rows));
        let u = rows_upper(view, lo, hi, c, q, row_method(o), bound_options(o))?;
        let dims = [("rows", rows)];
        let mut w = Writer::new(&ROW_UPPERS, &dims);
        w.reals("upper", &u);
        Ok(w.finish())
    })
}
