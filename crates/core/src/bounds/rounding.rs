//! Rigorous floating-point error terms (wasm has no directed rounding).
//!
//! Every bound in [`crate::bounds`] is computed in round-to-nearest f64 and then widened by an
//! error term that provably covers the rounding of the computation, so that the widened value is
//! a sound bound of the real-arithmetic quantity. The model (Higham, *Accuracy and Stability of
//! Numerical Algorithms*, §2.2, with gradual underflow) is
//!
//!   fl(a ∘ b) = (a ∘ b)(1 + δ) + η,   |δ| <= u = 2⁻⁵³,   |η| <= 2⁻¹⁰⁷⁵ (η = 0 for + and −).
//!
//! Consequences used throughout:
//!
//! * A sum of `n` products, in any order (the two-accumulator order of `linalg::dot` included):
//!   |fl(Σ a_i b_i) − Σ a_i b_i| <= γ_n Σ |a_i b_i| + n·2⁻¹⁰⁷⁴, γ_n = n u / (1 − n u)
//!   ([`err_bound`]).
//! * One operation followed by [`next_up`] (resp. [`next_down`]) is an upper (lower) bound of the
//!   exact result: round-to-nearest is off by at most half an ulp (or half the smallest subnormal),
//!   and one step to the next representable number covers it ([`add_up`], [`mul_up`], …).
//! * A sum or difference that lands in the subnormal range (or on 0) is exact (gradual
//!   underflow), so [`add_up`] and friends leave it as it is: bounds never step from 0 into the
//!   subnormals, whose arithmetic is a hundred times slower on common CPUs.

/// The unit roundoff u = 2⁻⁵³ of f64 (half of `f64::EPSILON`).
pub const UNIT_ROUNDOFF: f64 = f64::EPSILON / 2.0;

/// The smallest positive subnormal, 2⁻¹⁰⁷⁴: one ulp at zero, the scale of underflow errors.
pub const ETA: f64 = 5e-324;

/// Smallest error term handed out, 2⁻¹⁰⁰⁰ (a normal number): it covers the underflow allowance
/// n·2⁻¹⁰⁷⁴ of any reduction of fewer than 2⁷⁴ terms, and keeps error terms out of the subnormals.
pub const MIN_ERR: f64 = 9.332_636_185_032_189e-302;

/// Inflation applied to computed error terms. The magnitude `mag` an error term multiplies is
/// itself a computed sum of non-negative terms (relative error <= γ_m, m <= 10⁹ terms: < 1.2e-7)
/// and γ_n and the product round (a few u): 1 + 1e-6 covers all of it with room to spare.
const SAFETY: f64 = 1.0 + 1e-6;

/// γ_n = n u / (1 − n u): the relative error bound of a reduction of n rounded operations.
/// Panics if n u >= 1/2 (10¹⁵ terms: never for a network that fits in memory).
pub fn gamma(n: usize) -> f64 {
    let nu = n as f64 * UNIT_ROUNDOFF;
    assert!(nu < 0.5, "rounding: gamma({}) is undefined", n);
    nu / (1.0 - nu)
}

/// A rigorous bound on |fl(s) − s| for a reduction s of `terms` rounded products whose absolute
/// values sum to `mag` (computed in f64): γ_terms·mag inflated by [`SAFETY`], rounded up, and at
/// least [`MIN_ERR`] (the underflow allowance).
pub fn err_bound(terms: usize, mag: f64) -> f64 {
    #[cfg(test)]
    if unsound::on() {
        return 0.0;
    }
    next_up(gamma(terms) * mag * SAFETY).max(MIN_ERR)
}

/// Steps a sum or difference outward unless it is exact (0 or subnormal: gradual underflow).
fn outward(r: f64, up: bool) -> f64 {
    #[cfg(test)]
    if unsound::on() {
        return r;
    }
    if r.abs() < f64::MIN_POSITIVE {
        r
    } else if up {
        next_up(r)
    } else {
        next_down(r)
    }
}

/// The next representable f64 above `x` (+∞ and NaN stay as they are).
pub fn next_up(x: f64) -> f64 {
    #[cfg(test)]
    if unsound::on() {
        return x;
    }
    if x.is_nan() || x == f64::INFINITY {
        return x;
    }
    if x == 0.0 {
        return ETA;
    }
    let b = x.to_bits();
    f64::from_bits(if x > 0.0 { b + 1 } else { b - 1 })
}

/// The next representable f64 below `x` (−∞ and NaN stay as they are).
pub fn next_down(x: f64) -> f64 {
    -next_up(-x)
}

/// An upper bound of a + b.
pub fn add_up(a: f64, b: f64) -> f64 {
    outward(a + b, true)
}

/// A lower bound of a + b.
pub fn add_down(a: f64, b: f64) -> f64 {
    outward(a + b, false)
}

/// An upper bound of a − b.
pub fn sub_up(a: f64, b: f64) -> f64 {
    outward(a - b, true)
}

/// A lower bound of a − b.
pub fn sub_down(a: f64, b: f64) -> f64 {
    outward(a - b, false)
}

/// An upper bound of a·b.
pub fn mul_up(a: f64, b: f64) -> f64 {
    next_up(a * b)
}

/// A lower bound of a·b.
pub fn mul_down(a: f64, b: f64) -> f64 {
    next_down(a * b)
}

/// Tests only: run code with every error term and directed rounding switched off, to show that
/// the exact-arithmetic tests fail without them (they are not vacuous).
#[cfg(test)]
#[allow(clippy::declare_interior_mutable_const)]
pub(crate) mod unsound {
    use std::cell::Cell;

    thread_local! {
        static ON: Cell<bool> = const { Cell::new(false) };
    }

    pub fn on() -> bool {
        ON.with(|c| c.get())
    }

    pub fn run<R>(f: impl FnOnce() -> R) -> R {
        ON.with(|c| c.set(true));
        let r = f();
        ON.with(|c| c.set(false));
        r
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_up_and_down_step_one_ulp() {
        assert_eq!(next_up(1.0), 1.0 + f64::EPSILON);
        assert_eq!(next_down(1.0), 1.0 - f64::EPSILON / 2.0);
        assert_eq!(next_up(0.0), ETA);
        assert_eq!(next_up(-0.0), ETA);
        assert_eq!(next_down(0.0), -ETA);
        assert_eq!(next_up(-ETA), 0.0);
        assert_eq!(next_up(f64::MAX), f64::INFINITY);
        assert_eq!(next_up(f64::NEG_INFINITY), -f64::MAX);
        assert!(next_up(f64::NAN).is_nan());
    }

    #[test]
    fn directed_operations_bracket_the_exact_result() {
        // 1 + 2⁻⁶⁰ rounds to 1 in f64; the directed versions still bracket it.
        let tiny = 2f64.powi(-60);
        assert_eq!(1.0 + tiny, 1.0);
        assert!(add_up(1.0, tiny) > 1.0 && add_down(1.0, tiny) < 1.0 + tiny);
        // 1/3 is not representable: (1/3)·3 rounds to 1, the exact product of the double 1/3
        // and 3 is 1 − 2⁻⁵⁴ < 1.
        let third = 1.0 / 3.0;
        assert!(mul_down(third, 3.0) < 1.0 && mul_up(third, 3.0) >= 1.0);
        assert!(sub_up(1.0, tiny) >= 1.0 - tiny && sub_down(1.0, tiny) < 1.0);
    }

    #[test]
    fn gamma_and_err_bound() {
        assert_eq!(gamma(0), 0.0);
        assert!(gamma(10) > 10.0 * UNIT_ROUNDOFF && gamma(10) < 10.0 * UNIT_ROUNDOFF * (1.0 + 1e-14));
        // The classic bad case: Σ of 1 and many tiny terms, each lost in rounding.
        let n = 1000;
        let mut s = 1.0f64;
        for _ in 0..n {
            s += 1e-17;
        }
        let exact_excess = n as f64 * 1e-17; // the true sum is 1 + 1e-14
        assert_eq!(s, 1.0);
        assert!(err_bound(n + 1, 1.0 + exact_excess) >= exact_excess);
        assert_eq!(err_bound(3, 0.0), MIN_ERR);
        assert!(MIN_ERR >= f64::MIN_POSITIVE && MIN_ERR == 2f64.powi(-1000));
        // Exact zero and subnormal results are not stepped outward.
        assert_eq!(add_up(1.0, -1.0), 0.0);
        assert_eq!(sub_down(ETA, 0.0), ETA);
    }
}
