//! Soundness tests of the bounds: never below (above) a sampled value, on random networks and
//! boxes at adversarial scales, and never below the exact value computed in exact dyadic
//! arithmetic (every f64 is a dyadic rational m·2^e, and so are sums, products and ReLUs of
//! them) — including cases built so that f64 rounding alone would cross the exact value, where
//! switching the error terms off makes the test fail.

use super::interval::{interval_bounds, interval_row_upper};
use super::net_view::NetView;
use super::rounding::unsound;
use super::symbolic::{BoundOptions, LowerSlope, SymbolicBounds};
use super::{row_bounds, rows_upper, spec_row_upper_bound, RowMethod};
use crate::network::tests::{random_network, Rng};
use crate::network::{Layer, Network};
use std::cmp::Ordering;

/// An exact dyadic rational m·2^e (i128 mantissa; checked arithmetic: None on overflow).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Dy {
    m: i128,
    e: i32,
}

impl Dy {
    pub(crate) fn zero() -> Dy {
        Dy { m: 0, e: 0 }
    }

    pub(crate) fn from_f64(x: f64) -> Dy {
        assert!(x.is_finite());
        if x == 0.0 {
            return Dy::zero();
        }
        let bits = x.to_bits();
        let sign = if bits >> 63 == 1 { -1 } else { 1 };
        let exp = ((bits >> 52) & 0x7ff) as i32;
        let frac = (bits & ((1u64 << 52) - 1)) as i128;
        let (m, e) = if exp == 0 { (frac, -1074) } else { (frac | (1i128 << 52), exp - 1075) };
        Dy { m: sign * m, e }.norm()
    }

    fn norm(self) -> Dy {
        if self.m == 0 {
            return Dy::zero();
        }
        let tz = self.m.trailing_zeros() as i32;
        Dy { m: self.m >> tz, e: self.e + tz }
    }

    pub(crate) fn add(self, o: Dy) -> Option<Dy> {
        if self.m == 0 {
            return Some(o);
        }
        if o.m == 0 {
            return Some(self);
        }
        let (hi, lo) = if self.e >= o.e { (self, o) } else { (o, self) };
        let shift = (hi.e - lo.e) as u32;
        if shift >= 126 {
            return None;
        }
        let m = hi.m.checked_mul(1i128 << shift)?.checked_add(lo.m)?;
        Some(Dy { m, e: lo.e }.norm())
    }

    pub(crate) fn mul(self, o: Dy) -> Option<Dy> {
        Some(Dy { m: self.m.checked_mul(o.m)?, e: self.e + o.e }.norm())
    }

    pub(crate) fn neg(self) -> Dy {
        Dy { m: -self.m, e: self.e }
    }

    pub(crate) fn relu(self) -> Dy {
        if self.m < 0 {
            Dy::zero()
        } else {
            self
        }
    }

    /// The sign of self − x (None when the difference does not fit).
    pub(crate) fn cmp_f64(self, x: f64) -> Option<Ordering> {
        let d = self.add(Dy::from_f64(x).neg())?;
        Some(d.m.cmp(&0))
    }
}

/// Exact pre-activations of every layer at x (None when a value leaves the i128 range).
pub(crate) fn exact_pre_activations(net: &Network, x: &[f64]) -> Option<Vec<Vec<Dy>>> {
    let mut h: Vec<Dy> = x.iter().map(|&v| Dy::from_f64(v)).collect();
    let mut out = Vec::new();
    for layer in net.dense_layers().expect("a dense chain") {
        let mut z = Vec::with_capacity(layer.n_out);
        for i in 0..layer.n_out {
            let mut s = Dy::from_f64(layer.b[i]);
            for j in 0..layer.n_in {
                s = s.add(Dy::from_f64(layer.w[i * layer.n_in + j]).mul(h[j])?)?;
            }
            z.push(s);
        }
        h = if layer.relu { z.iter().map(|v| v.relu()).collect() } else { z.clone() };
        out.push(z);
    }
    Some(out)
}

/// A value with a short mantissa (|k| < 2^bits) times 2^p: keeps exact products in i128.
fn short(rng: &mut Rng, bits: u32, p: i32) -> f64 {
    let k = (rng.next_u64() % (1 << bits)) as f64 - (1u64 << (bits - 1)) as f64;
    k * 2f64.powi(p)
}

/// A random network with short-mantissa weights at scale 2^scale.
fn short_network(rng: &mut Rng, sizes: &[usize], scale: i32) -> Network {
    let mut layers = Vec::new();
    for l in 0..sizes.len() - 1 {
        let (ni, no) = (sizes[l], sizes[l + 1]);
        let w = (0..ni * no)
            .map(|_| {
                let p = scale - 9 - (rng.next_u64() % 4) as i32;
                short(rng, 10, p)
            })
            .collect();
        let b = (0..no).map(|_| short(rng, 10, scale - 9)).collect();
        layers.push(Layer { n_in: ni, n_out: no, w, b, relu: l + 2 < sizes.len() });
    }
    Network::new(layers).unwrap()
}

fn scaled_network(rng: &mut Rng, sizes: &[usize], scale: f64) -> Network {
    let net = random_network(rng, sizes);
    let mut layers = net.dense_layers().expect("a dense chain").to_vec();
    for l in layers.iter_mut() {
        l.w.iter_mut().for_each(|v| *v *= scale);
        l.b.iter_mut().for_each(|v| *v *= scale);
    }
    Network::new(layers).unwrap()
}

/// A random point of the box, or (one time in four) a random vertex.
fn point(rng: &mut Rng, lo: &[f64], hi: &[f64]) -> Vec<f64> {
    let vertex = rng.next_u64() % 4 == 0;
    (0..lo.len())
        .map(|j| {
            if vertex {
                if rng.next_u64() % 2 == 0 {
                    lo[j]
                } else {
                    hi[j]
                }
            } else {
                rng.range(lo[j], hi[j])
            }
        })
        .collect()
}

#[test]
fn interval_bounds_contain_every_sampled_pre_activation() {
    let mut rng = Rng(101);
    let mut checked = 0usize;
    for trial in 0..60 {
        let sizes: &[usize] = if trial % 3 == 0 { &[5, 20, 20, 20, 5] } else { &[3, 8, 8, 3] };
        let scale = [1e-3, 1.0, 1e3][trial % 3];
        let net = scaled_network(&mut rng, sizes, scale);
        let view = NetView::new(&net).unwrap();
        let centre = [0.0, 1e4, -1e4][(trial / 3) % 3];
        let width = [1e-6, 1e-2, 1.0, 100.0][(trial / 9) % 4];
        let n = sizes[0];
        let lo: Vec<f64> = (0..n).map(|_| centre + rng.range(-width, 0.0)).collect();
        let hi: Vec<f64> = lo.iter().map(|&l| l + rng.range(0.0, width)).collect();
        let ib = interval_bounds(&view, &lo, &hi).unwrap();
        for _ in 0..200 {
            let x = point(&mut rng, &lo, &hi);
            let mut y = vec![0.0; net.n_out()];
            let mut layer = 0;
            net.forward_visit(&x, &mut y, |l, z| {
                for i in 0..z.len() {
                    assert!(
                        ib.lower[l][i] <= z[i] && z[i] <= ib.upper[l][i],
                        "trial {} layer {} neuron {}",
                        trial,
                        l,
                        i
                    );
                }
                layer = l;
            });
            let (ol, ou) = (ib.output_lower(), ib.output_upper());
            for k in 0..y.len() {
                assert!(
                    ol[k] <= y[k] && y[k] <= ou[k],
                    "trial {} output {}: {} not in [{}, {}]",
                    trial,
                    k,
                    y[k],
                    ol[k],
                    ou[k]
                );
            }
            checked += 1;
        }
    }
    assert_eq!(checked, 60 * 200);
}

#[test]
fn interval_bounds_contain_the_exact_values() {
    let mut rng = Rng(7);
    let (mut cases, mut skipped) = (0, 0);
    for trial in 0..300 {
        let scale = [-10, 0, 10][trial % 3];
        let net = short_network(&mut rng, &[3, 5, 4, 2], scale);
        let view = NetView::new(&net).unwrap();
        // Boxes near 1e4 (2^13) and near 0, some degenerate (a point: the bounds are then as
        // tight as rounding allows, which is where a missing error term shows).
        let c = if trial % 2 == 0 { 8192.0 } else { 0.0 };
        let lo: Vec<f64> = (0..3).map(|_| c + short(&mut rng, 10, -4)).collect();
        let hi: Vec<f64> =
            lo.iter().map(|&l| if trial % 5 == 0 { l } else { l + short(&mut rng, 10, -6).abs() }).collect();
        let ib = interval_bounds(&view, &lo, &hi).unwrap();
        for s in 0..20 {
            let x: Vec<f64> = if s == 0 { lo.clone() } else { point(&mut rng, &lo, &hi) };
            match exact_pre_activations(&net, &x) {
                None => skipped += 1,
                Some(z) => {
                    for l in 0..z.len() {
                        for i in 0..z[l].len() {
                            let below = z[l][i].cmp_f64(ib.lower[l][i]);
                            let above = z[l][i].cmp_f64(ib.upper[l][i]);
                            if below.is_none() || above.is_none() {
                                skipped += 1;
                                continue;
                            }
                            assert_ne!(below, Some(Ordering::Less), "trial {} layer {} neuron {}", trial, l, i);
                            assert_ne!(above, Some(Ordering::Greater), "trial {} layer {} neuron {}", trial, l, i);
                            cases += 1;
                        }
                    }
                }
            }
        }
    }
    assert!(cases > 50_000 && skipped * 20 < cases, "{} exact comparisons, {} skipped", cases, skipped);
}

/// z = x0 + 2⁻⁶⁰ x1 at x = (1, 1): f64 gives 1, the exact value is 1 + 2⁻⁶⁰.
fn cancellation_network() -> Network {
    Network::new(vec![Layer { n_in: 2, n_out: 1, w: vec![1.0, 2f64.powi(-60)], b: vec![0.0], relu: false }]).unwrap()
}

#[test]
fn error_terms_are_what_makes_the_exact_tests_pass() {
    // The hand-made case: without error terms the upper bound is 1, below the exact value.
    let net = cancellation_network();
    let view = NetView::new(&net).unwrap();
    let x = [1.0, 1.0];
    let exact = exact_pre_activations(&net, &x).unwrap()[0][0];
    let sound = interval_bounds(&view, &x, &x).unwrap();
    assert_eq!(exact.cmp_f64(sound.upper[0][0]), Some(Ordering::Less));
    let bare = unsound::run(|| interval_bounds(&view, &x, &x).unwrap());
    assert_eq!(bare.upper[0][0], 1.0);
    assert_eq!(exact.cmp_f64(bare.upper[0][0]), Some(Ordering::Greater));
    // Random point boxes: with the error terms off, rounding puts some bound on the wrong side
    // of the exact value; with them, none.
    let mut rng = Rng(99);
    let mut wrong_without = 0;
    for _ in 0..200 {
        let net = short_network(&mut rng, &[3, 6, 2], 0);
        let view = NetView::new(&net).unwrap();
        let x: Vec<f64> = (0..3).map(|_| 8192.0 + short(&mut rng, 12, -20)).collect();
        let z = match exact_pre_activations(&net, &x) {
            Some(z) => z,
            None => continue,
        };
        let sound = interval_bounds(&view, &x, &x).unwrap();
        let bare = unsound::run(|| interval_bounds(&view, &x, &x).unwrap());
        for l in 0..z.len() {
            for i in 0..z[l].len() {
                assert_ne!(z[l][i].cmp_f64(sound.lower[l][i]), Some(Ordering::Less));
                assert_ne!(z[l][i].cmp_f64(sound.upper[l][i]), Some(Ordering::Greater));
                if z[l][i].cmp_f64(bare.lower[l][i]) == Some(Ordering::Less)
                    || z[l][i].cmp_f64(bare.upper[l][i]) == Some(Ordering::Greater)
                {
                    wrong_without += 1;
                }
            }
        }
    }
    assert!(wrong_without > 10, "only {} bounds crossed without error terms", wrong_without);
}

#[test]
fn interval_row_bound_and_bad_input() {
    let mut rng = Rng(5);
    let net = random_network(&mut rng, &[2, 6, 3]);
    let view = NetView::new(&net).unwrap();
    let (lo, hi) = ([-1.0, -1.0], [1.0, 1.0]);
    let c = [1.0, -1.0, 0.5];
    let ub = interval_row_upper(&view, &lo, &hi, &c, 0.25).unwrap();
    let mut best = f64::NEG_INFINITY;
    for _ in 0..2000 {
        let x = point(&mut rng, &lo, &hi);
        let mut y = [0.0; 3];
        net.forward(&x, &mut y);
        best = best.max(c[0] * y[0] + c[1] * y[1] + c[2] * y[2] - 0.25);
    }
    assert!(best <= ub);
    assert!(interval_row_upper(&view, &lo, &hi, &[1.0], 0.0).is_err());
    assert!(interval_bounds(&view, &[0.0], &[1.0]).is_err());
    assert!(interval_bounds(&view, &[1.0, 0.0], &[0.0, 1.0]).is_err());
    assert!(interval_bounds(&view, &[f64::NAN, 0.0], &[0.0, 1.0]).is_err());
}

const SLOPES: [LowerSlope; 3] = [LowerSlope::Adaptive, LowerSlope::Parallel, LowerSlope::Zero];

/// Every lower slope, with and without back-substituted intermediate bounds.
fn opts(trial: usize) -> BoundOptions {
    BoundOptions { slope: SLOPES[trial % 3], back_substitute: (trial / 3) % 2 == 0, both_slopes: (trial / 6) % 2 == 0 }
}

#[test]
fn symbolic_bounds_contain_every_sample_and_are_no_looser_than_intervals() {
    let mut rng = Rng(202);
    let (mut tighter, mut neurons) = (0usize, 0usize);
    for trial in 0..60 {
        let sizes: &[usize] = if trial % 3 == 0 { &[5, 20, 20, 20, 5] } else { &[3, 8, 8, 3] };
        let net = scaled_network(&mut rng, sizes, [1e-3, 1.0, 1e3][trial % 3]);
        let view = NetView::new(&net).unwrap();
        let centre = [0.0, 1e4, -1e4][(trial / 3) % 3];
        let width = [1e-6, 1e-2, 1.0, 100.0][(trial / 9) % 4];
        let n = sizes[0];
        let lo: Vec<f64> = (0..n).map(|_| centre + rng.range(-width, 0.0)).collect();
        let hi: Vec<f64> = lo.iter().map(|&l| l + rng.range(0.0, width)).collect();
        let ib = interval_bounds(&view, &lo, &hi).unwrap();
        let sb = SymbolicBounds::compute(&view, &lo, &hi, opts(trial)).unwrap();
        let k = net.n_out();
        let rows: Vec<(Vec<f64>, f64)> =
            (0..3).map(|_| ((0..k).map(|_| rng.normal()).collect(), rng.normal())).collect();
        let bounds: Vec<_> = rows.iter().map(|(c, q)| sb.row_upper(&view, c, *q).unwrap()).collect();
        for l in 0..sb.lower.len() {
            for i in 0..sb.lower[l].len() {
                assert!(sb.lower[l][i] >= ib.lower[l][i] && sb.upper[l][i] <= ib.upper[l][i]);
                neurons += 1;
                if sb.upper[l][i] - sb.lower[l][i] < 0.999 * (ib.upper[l][i] - ib.lower[l][i]) {
                    tighter += 1;
                }
            }
        }
        for (r, (c, q)) in rows.iter().enumerate() {
            assert!(
                bounds[r].upper <= super::interval::row_upper_from_box(c, *q, &ib.output_lower(), &ib.output_upper())
            );
        }
        for _ in 0..200 {
            let x = point(&mut rng, &lo, &hi);
            let mut y = vec![0.0; k];
            net.forward_visit(&x, &mut y, |l, z| {
                for i in 0..z.len() {
                    assert!(
                        sb.lower[l][i] <= z[i] && z[i] <= sb.upper[l][i],
                        "trial {} layer {} neuron {}",
                        trial,
                        l,
                        i
                    );
                }
            });
            for (r, (c, q)) in rows.iter().enumerate() {
                let v: f64 = c.iter().zip(&y).map(|(a, b)| a * b).sum::<f64>() - q;
                assert!(v <= bounds[r].upper, "trial {} row {}: {} > {}", trial, r, v, bounds[r].upper);
            }
        }
    }
    assert!(tighter * 4 > neurons, "symbolic bounds tighter on {} of {} neurons", tighter, neurons);
}

/// c·f(x) − q in exact arithmetic.
fn exact_row(net: &Network, x: &[f64], c: &[f64], q: f64) -> Option<Dy> {
    let z = exact_pre_activations(net, x)?;
    let layers = net.dense_layers().unwrap();
    let last = layers.len() - 1;
    let mut v = Dy::from_f64(q).neg();
    for (k, &ck) in c.iter().enumerate() {
        let y = if layers[last].relu { z[last][k].relu() } else { z[last][k] };
        v = v.add(Dy::from_f64(ck).mul(y)?)?;
    }
    Some(v)
}

#[test]
fn row_bounds_and_their_linear_functions_hold_in_exact_arithmetic() {
    let mut rng = Rng(17);
    let (mut cases, mut skipped) = (0, 0);
    for trial in 0..300 {
        let net = short_network(&mut rng, &[3, 5, 4, 2], [-10, 0, 10][trial % 3]);
        let view = NetView::new(&net).unwrap();
        let c0 = if trial % 2 == 0 { 8192.0 } else { 0.0 };
        let lo: Vec<f64> = (0..3).map(|_| c0 + short(&mut rng, 10, -4)).collect();
        let hi: Vec<f64> =
            lo.iter().map(|&l| if trial % 5 == 0 { l } else { l + short(&mut rng, 10, -6).abs() }).collect();
        let sb = SymbolicBounds::compute(&view, &lo, &hi, opts(trial)).unwrap();
        let c = [short(&mut rng, 8, -4), short(&mut rng, 8, -4)];
        let q = short(&mut rng, 8, -4);
        let rb0 = sb.row_upper(&view, &c, q).unwrap();
        // Every other trial: the optimised slopes, held to the same exact standard.
        let rb = if trial % 2 == 1 { sb.row_upper_optimised(&view, &c, q, 8).unwrap() } else { rb0.clone() };
        assert!(rb.upper <= rb0.upper, "trial {}: optimised slopes looser than the default", trial);
        for s in 0..20 {
            let x: Vec<f64> = if s == 0 { lo.clone() } else { point(&mut rng, &lo, &hi) };
            let z = match exact_pre_activations(&net, &x) {
                Some(z) => z,
                None => {
                    skipped += 1;
                    continue;
                }
            };
            for l in 0..z.len() {
                for i in 0..z[l].len() {
                    match (z[l][i].cmp_f64(sb.lower[l][i]), z[l][i].cmp_f64(sb.upper[l][i])) {
                        (Some(a), Some(b)) => {
                            assert_ne!(a, Ordering::Less, "trial {} layer {} neuron {}", trial, l, i);
                            assert_ne!(b, Ordering::Greater, "trial {} layer {} neuron {}", trial, l, i);
                            cases += 1;
                        }
                        _ => skipped += 1,
                    }
                }
            }
            let row = match exact_row(&net, &x, &c, q) {
                Some(v) => v,
                None => {
                    skipped += 1;
                    continue;
                }
            };
            // The linear function slope·x + offset, evaluated exactly.
            let mut lin = Some(Dy::from_f64(rb.offset));
            for j in 0..3 {
                lin = lin.and_then(|v| v.add(Dy::from_f64(rb.slope[j]).mul(Dy::from_f64(x[j]))?));
            }
            match (row.cmp_f64(rb.upper), lin.and_then(|v| row.add(v.neg()))) {
                (Some(o), Some(d)) => {
                    assert_ne!(o, Ordering::Greater, "trial {}: the exact row value exceeds its bound", trial);
                    assert!(d.m <= 0, "trial {}: the exact row value exceeds the linear bound", trial);
                    cases += 1;
                }
                _ => skipped += 1,
            }
        }
    }
    assert!(cases > 50_000 && skipped * 20 < cases, "{} exact comparisons, {} skipped", cases, skipped);
}

#[test]
fn symbolic_error_terms_are_needed_in_exact_arithmetic() {
    let net = cancellation_network();
    let view = NetView::new(&net).unwrap();
    let x = [1.0, 1.0];
    let exact = exact_row(&net, &x, &[1.0], 0.0).unwrap();
    let sound =
        SymbolicBounds::compute(&view, &x, &x, BoundOptions::default()).unwrap().row_upper(&view, &[1.0], 0.0).unwrap();
    assert_eq!(exact.cmp_f64(sound.upper), Some(Ordering::Less));
    let bare = unsound::run(|| {
        SymbolicBounds::compute(&view, &x, &x, BoundOptions::default()).unwrap().row_upper(&view, &[1.0], 0.0).unwrap()
    });
    assert_eq!(exact.cmp_f64(bare.upper), Some(Ordering::Greater));
    // Also through the one-call API, with a box around the point.
    let ub = spec_row_upper_bound(&view, &[1.0, 1.0], &[1.0, 1.0], &[1.0], 0.0).unwrap();
    assert_eq!(exact.cmp_f64(ub), Some(Ordering::Less));
}

#[test]
fn symbolic_bounds_are_tight_where_the_network_is_linear() {
    // All neurons stable on the box: back-substitution is exact up to rounding.
    let net = Network::new(vec![
        Layer { n_in: 2, n_out: 2, w: vec![1.0, 0.5, -0.25, 1.0], b: vec![10.0, 10.0], relu: true },
        Layer { n_in: 2, n_out: 1, w: vec![1.0, -2.0], b: vec![0.0], relu: false },
    ])
    .unwrap();
    let view = NetView::new(&net).unwrap();
    let (lo, hi) = ([-1.0, -1.0], [1.0, 1.0]);
    let rb = SymbolicBounds::compute(&view, &lo, &hi, BoundOptions::default())
        .unwrap()
        .row_upper(&view, &[1.0], 0.0)
        .unwrap();
    // y = (x0 + 0.5 x1 + 10) − 2(−0.25 x0 + x1 + 10) = 1.5 x0 − 1.5 x1 − 10: max −7 at (1, −1).
    assert!(rb.upper >= -7.0 && rb.upper < -7.0 + 1e-12, "{}", rb.upper);
    assert!((rb.slope[0] - 1.5).abs() < 1e-15 && (rb.slope[1] + 1.5).abs() < 1e-15);
}

#[test]
fn lp_row_bounds_hold_in_exact_arithmetic_and_are_no_looser_than_symbolic() {
    let mut rng = Rng(29);
    let (mut cases, mut skipped, mut tighter, mut looser, mut failed) = (0usize, 0usize, 0usize, 0usize, 0usize);
    for trial in 0..150 {
        let sizes: &[usize] = if trial % 2 == 0 { &[2, 6, 6, 3] } else { &[3, 8, 5, 2] };
        let net = short_network(&mut rng, sizes, [-10, 0, 10][trial % 3]);
        let view = NetView::new(&net).unwrap();
        let n = sizes[0];
        let c0 = if trial % 4 == 0 { 8192.0 } else { 0.0 };
        let lo: Vec<f64> = (0..n).map(|_| c0 + short(&mut rng, 10, -4)).collect();
        let hi: Vec<f64> = lo.iter().map(|&l| l + short(&mut rng, 10, -4).abs()).collect();
        let k = *sizes.last().unwrap();
        let c: Vec<f64> = (0..k).map(|_| short(&mut rng, 8, -4)).collect();
        let q = short(&mut rng, 8, -4);
        let rb = row_bounds(&view, &lo, &hi, &c, q, RowMethod::Best, opts(trial)).unwrap();
        if !rb.lp.is_finite() {
            // The LP failing means no bound (+∞), never a wrong one; it must stay rare.
            failed += 1;
            continue;
        }
        assert!(rb.upper <= rb.symbolic && rb.upper <= rb.interval && rb.upper <= rb.lp);
        // The triangle relaxation contains the symbolic pass's relaxations: in real arithmetic
        // never looser. In floats the simplex's certified dual bound carries its own margins,
        // which on the 2^10-scale networks (outputs ~1e11) reach 1e-5..1e-2 relative, and ~3e-9
        // relative for boxes far from 0 (inputs ~8192): `Best` takes the minimum for that reason;
        // the comparison is made on the other scales, up to 1e-7 relative.
        if trial % 3 != 2 && rb.lp > rb.symbolic + 1e-7 * (1.0 + rb.symbolic.abs()) {
            looser += 1;
        }
        if rb.lp < rb.symbolic - 1e-9 * (1.0 + rb.symbolic.abs()) {
            tighter += 1;
        }
        let lp_only = row_bounds(&view, &lo, &hi, &c, q, RowMethod::Lp, opts(trial)).unwrap();
        assert_eq!(lp_only.upper, rb.lp.min(rb.interval));
        for s in 0..40 {
            let x: Vec<f64> = if s == 0 { lo.clone() } else { point(&mut rng, &lo, &hi) };
            match exact_row(&net, &x, &c, q).and_then(|v| v.cmp_f64(rb.lp)) {
                Some(o) => {
                    assert_ne!(
                        o,
                        Ordering::Greater,
                        "trial {}: the exact row value exceeds the LP bound {}",
                        trial,
                        rb.lp
                    );
                    cases += 1;
                }
                None => skipped += 1,
            }
        }
    }
    assert!(failed <= 3, "the LP failed in {} of 150 trials", failed);
    assert_eq!(looser, 0, "the LP bound was looser than the symbolic one in {} trials", looser);
    assert!(tighter >= 10, "the LP bound was strictly tighter in only {} of 150 trials", tighter);
    assert!(cases > 4_000 && skipped * 10 < cases, "{} exact comparisons, {} skipped", cases, skipped);
}

#[test]
fn rows_upper_equals_row_bounds_row_by_row_for_every_method() {
    let mut rng = Rng(31);
    for trial in 0..40 {
        let sizes: &[usize] = if trial % 2 == 0 { &[2, 6, 6, 3] } else { &[3, 8, 5, 4] };
        let net = short_network(&mut rng, sizes, [-10, 0, 10][trial % 3]);
        let view = NetView::new(&net).unwrap();
        let n = sizes[0];
        let k = *sizes.last().unwrap();
        let lo: Vec<f64> = (0..n).map(|_| short(&mut rng, 10, -4)).collect();
        let hi: Vec<f64> = lo.iter().map(|&l| l + short(&mut rng, 10, -4).abs()).collect();
        let m = 1 + trial % 5;
        let c: Vec<f64> = (0..m * k).map(|_| short(&mut rng, 8, -4)).collect();
        let q: Vec<f64> = (0..m).map(|_| short(&mut rng, 8, -4)).collect();
        for method in [RowMethod::Interval, RowMethod::Symbolic, RowMethod::Lp, RowMethod::Best] {
            let all = rows_upper(&view, &lo, &hi, &c, &q, method, opts(trial)).unwrap();
            assert_eq!(all.len(), m);
            for i in 0..m {
                let one = row_bounds(&view, &lo, &hi, &c[i * k..(i + 1) * k], q[i], method, opts(trial)).unwrap();
                // Bit for bit: the same passes, computed once instead of once per row.
                assert_eq!(all[i].to_bits(), one.upper.to_bits(), "trial {} row {} {:?}", trial, i, method);
            }
        }
    }
    assert!(rows_upper(
        &NetView::new(&short_network(&mut rng, &[2, 3, 2], 0)).unwrap(),
        &[0.0; 2],
        &[1.0; 2],
        &[1.0; 3],
        &[0.0],
        RowMethod::Symbolic,
        BoundOptions::default()
    )
    .is_err());
}

#[test]
fn optimised_slopes_are_sound_never_looser_and_often_tighter() {
    let mut rng = Rng(404);
    let (mut open, mut tighter) = (0usize, 0usize);
    for trial in 0..40 {
        let net = scaled_network(&mut rng, &[5, 20, 20, 20, 5], 1.0);
        let view = NetView::new(&net).unwrap();
        let width = [0.05, 0.2, 1.0][trial % 3];
        let lo: Vec<f64> = (0..5).map(|_| rng.range(-1.0, 1.0)).collect();
        let hi: Vec<f64> = lo.iter().map(|&l| l + width).collect();
        let sb = SymbolicBounds::compute(&view, &lo, &hi, BoundOptions::default()).unwrap();
        let c: Vec<f64> = (0..5).map(|_| rng.normal()).collect();
        let q = rng.normal();
        let base = sb.row_upper(&view, &c, q).unwrap();
        let opt = sb.row_upper_optimised(&view, &c, q, 8).unwrap();
        assert!(opt.upper <= base.upper, "trial {}: {} > {}", trial, opt.upper, base.upper);
        let mut sampled = f64::NEG_INFINITY;
        for _ in 0..2000 {
            let x = point(&mut rng, &lo, &hi);
            let mut y = vec![0.0; 5];
            net.forward(&x, &mut y);
            let v: f64 = c.iter().zip(&y).map(|(a, b)| a * b).sum::<f64>() - q;
            let lin: f64 = opt.slope.iter().zip(&x).map(|(a, b)| a * b).sum::<f64>() + opt.offset;
            // f64 evaluation of the network and of the line: a relative 1e-12 covers their rounding.
            let tol = 1e-12 * (1.0 + v.abs() + lin.abs());
            assert!(v <= lin + tol, "trial {}: the optimised line is below the row at a sample", trial);
            sampled = sampled.max(v);
        }
        assert!(sampled <= opt.upper, "trial {}: sampled {} above the optimised bound {}", trial, sampled, opt.upper);
        if sb.unstable(&view) > 0 {
            open += 1;
            // Strictly tighter by more than rounding: the optimiser moved the bound.
            if opt.upper < base.upper - 1e-9 * (1.0 + base.upper.abs()) {
                tighter += 1;
            }
        }
    }
    assert!(open >= 20 && tighter * 2 >= open, "optimised slopes tighter on {} of {} boxes", tighter, open);
}
