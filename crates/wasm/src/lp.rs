//! The core simplex's pivot budgets (core `lp::force_limits`; TypeScript: `forceLpLimits` in
//! `ts/minimal.ts`), for the orchestration's LP limit option and tests of its fallback.

use relu_repair_core::lp::{force_limits, LpLimits};

/// Sets the pivot budget of each method of every simplex created afterwards on this thread (the
/// instance's thread): the revised simplex, row generation, Bland's rule. A negative value keeps
/// that method's default; all three negative restore the defaults. Returns 0.
#[no_mangle]
pub extern "C" fn rr_lp_force_limits(revised: f64, row_generation: f64, bland: f64) -> i32 {
    let budget = |v: f64| if v >= 0.0 && v.is_finite() { Some(v as usize) } else { None };
    let limits = LpLimits { revised: budget(revised), row_generation: budget(row_generation), bland: budget(bland) };
    force_limits(if limits == LpLimits::default() { None } else { Some(limits) });
    0
}
