//! The verifier against an independent ground truth: every linear region of the box
//! (`enumerate.rs`), each with its own affine map (`region.rs`) and one LP per unsafe disjunct.

use super::*;
use crate::bounds::{BoundOptions, LowerSlope, NetView};
use crate::enumerate::{EnumerateOptions, RegionEnumerator, Step};
use crate::lp::{Polytope, Simplex};
use crate::network::tests::{random_network, Rng};
use crate::network::Network;
use crate::region::LinearRegion;

/// min over the region of max_r (a_r·y(x) − b_r), by LP.
fn region_min_depth(reg: &LinearRegion, d: &Disjunct, k: usize) -> f64 {
    let n = reg.n_in;
    let nv = n + 1;
    let mut g = Vec::new();
    let mut h = Vec::new();
    for i in 0..reg.b.len() {
        g.extend_from_slice(&reg.a[i * n..(i + 1) * n]);
        g.push(0.0);
        h.push(reg.b[i]);
    }
    for r in 0..d.rows() {
        let row = d.row(r, k);
        let mut a = vec![0.0; n];
        let mut c = -d.b[r];
        for o in 0..k {
            for j in 0..n {
                a[j] += row[o] * reg.f[o * n + j];
            }
            c += row[o] * reg.e[o];
        }
        g.extend_from_slice(&a);
        g.push(-1.0);
        h.push(-c);
    }
    let mut lo = reg.lower.clone();
    let mut hi = reg.upper.clone();
    lo.push(-1e6);
    hi.push(1e6);
    let p = Polytope::new(nv, &g, &h, &lo, &hi).unwrap();
    let mut c = vec![0.0; nv];
    c[n] = -1.0;
    -Simplex::new(p).maximize(&c).unwrap().lower
}

/// The smallest property margin over the box: negative means violated.
fn ground_truth(net: &Network, prop: &Property) -> f64 {
    let opts = EnumerateOptions { eps: 1e-12, min_radius: 1e-12, max_regions: 200_000 };
    let mut en = RegionEnumerator::new(net, &prop.lower, &prop.upper, &prop.a, &prop.b, opts).unwrap();
    assert_eq!(en.run().unwrap(), Step::Done);
    let h = en.hidden();
    let mut worst = f64::INFINITY;
    for r in 0..en.count() {
        let reg =
            LinearRegion::of_pattern(net, en.patterns[r * h..(r + 1) * h].to_vec(), &prop.lower, &prop.upper).unwrap();
        let m = prop.unsafe_set.iter().map(|d| region_min_depth(&reg, d, prop.n_out)).fold(f64::INFINITY, f64::min);
        worst = worst.min(m);
    }
    worst
}

/// A random property on a random box: φ2-like (one disjunct, "output 0 is maximal"), φ5-like
/// (a union of single rows: "some output beats output 0"), or φ1-like (a threshold), with the
/// threshold put near the largest sampled value so that proofs are tight.
fn random_property(rng: &mut Rng, net: &Network, kind: usize) -> Property {
    let lower: Vec<f64> = (0..net.n_in()).map(|_| rng.range(-1.0, 0.0)).collect();
    let upper: Vec<f64> = lower.iter().map(|&l| l + rng.range(0.1, 1.0)).collect();
    property_near_max(rng, net, lower, upper, kind)
}

/// The property of [`random_property`]'s `kind` on the box [lower, upper], its threshold near the
/// largest value of 2,000 samples.
fn property_near_max(rng: &mut Rng, net: &Network, lower: Vec<f64>, upper: Vec<f64>, kind: usize) -> Property {
    let (n, k) = (net.n_in(), net.n_out());
    let mut best = f64::NEG_INFINITY;
    let mut y = vec![0.0; k];
    for _ in 0..2000 {
        let x: Vec<f64> = (0..n).map(|j| rng.range(lower[j], upper[j])).collect();
        net.forward(&x, &mut y);
        let v = match kind {
            0 => (1..k).map(|j| y[0] - y[j]).fold(f64::INFINITY, f64::min),
            1 => (1..k).map(|j| y[j] - y[0]).fold(f64::NEG_INFINITY, f64::max),
            _ => y[0],
        };
        best = best.max(v);
    }
    let shift = best + rng.range(-0.05, 0.05) * (1.0 + best.abs());
    let unsafe_set = match kind {
        0 => {
            // y_j − y_0 <= −shift for every j (output 0 leads by at least shift).
            let mut a = Vec::new();
            for j in 1..k {
                let mut row = vec![0.0; k];
                row[j] = 1.0;
                row[0] = -1.0;
                a.extend(row);
            }
            vec![Disjunct { a, b: vec![-shift; k - 1] }]
        }
        1 => (1..k)
            .map(|j| {
                let mut row = vec![0.0; k];
                row[0] = 1.0;
                row[j] = -1.0;
                Disjunct { a: row, b: vec![-shift] }
            })
            .collect(),
        _ => {
            let mut row = vec![0.0; k];
            row[0] = -1.0;
            vec![Disjunct { a: row, b: vec![-shift] }]
        }
    };
    Property::new(n, k, lower, upper, &[], &[], unsafe_set).unwrap()
}

fn run(net: &Network, prop: &Property, opts: VerifyOptions, budget: usize) -> Verifier {
    let mut v = Verifier::new(NetView::new(net).unwrap(), prop.clone(), opts).unwrap();
    let mut steps = 0;
    while v.step(budget).unwrap() == Verdict::Running {
        steps += 1;
        assert!(steps < 1_000_000, "no verdict");
    }
    v
}

#[test]
fn verdicts_agree_with_exact_region_enumeration() {
    let mut rng = Rng(4242);
    let (mut holds, mut violated, mut compared) = (0, 0, 0);
    for trial in 0..60 {
        let sizes: &[usize] = match trial % 3 {
            0 => &[2, 8, 8, 3],
            1 => &[3, 10, 10, 4],
            _ => &[4, 8, 8, 8, 3],
        };
        let net = random_network(&mut rng, sizes);
        let prop = random_property(&mut rng, &net, trial % 3);
        let truth = ground_truth(&net, &prop);
        if truth.abs() < 1e-6 {
            continue; // a tie: either answer is within rounding
        }
        let mut opts = VerifyOptions {
            bounds: BoundOptions {
                slope: [LowerSlope::Adaptive, LowerSlope::Parallel][trial % 2],
                back_substitute: trial % 4 < 2,
                both_slopes: trial % 8 < 4,
            },
            ..VerifyOptions::default()
        };
        // Small leaves half of the time, so that both bounds and regions decide boxes.
        opts.leaf_unstable = [10, 2][(trial / 2) % 2];
        let v = run(&net, &prop, opts, 200);
        compared += 1;
        if truth > 0.0 {
            assert_eq!(v.verdict(), Verdict::Holds, "trial {}: holds (margin {}), stats {:?}", trial, truth, v.stats);
            assert!((v.stats.decided() - 1.0).abs() < 1e-9, "trial {}: decided {}", trial, v.stats.decided());
            assert!(v.stats.min_margin > 0.0 && v.stats.min_margin <= truth * (1.0 + 1e-9) + 1e-12);
            holds += 1;
        } else {
            assert_eq!(v.verdict(), Verdict::Violated, "trial {}: violated (margin {})", trial, truth);
            let c = v.counterexample.as_ref().unwrap();
            assert!(prop.contains(&c.x));
            let mut y = vec![0.0; net.n_out()];
            net.forward(&c.x, &mut y);
            assert!(prop.margin(&y) < 0.0 && prop.margin(&y) == c.margin);
            violated += 1;
        }
    }
    assert!(
        holds >= 10 && violated >= 10 && compared >= 40,
        "holds {}, violated {}, compared {}",
        holds,
        violated,
        compared
    );
}

#[test]
fn results_do_not_depend_on_the_step_budget_and_leaves_add_up() {
    let mut rng = Rng(77);
    let net = random_network(&mut rng, &[3, 12, 12, 3]);
    let prop = random_property(&mut rng, &net, 0);
    let mut opts = VerifyOptions { collect_leaves: true, stop_at_violation: false, ..VerifyOptions::default() };
    opts.leaf_unstable = 4;
    let mut a = run(&net, &prop, opts, 1);
    let mut b = run(&net, &prop, opts, 100_000);
    assert_eq!(a.stats, b.stats);
    assert_eq!(a.verdict(), b.verdict());
    let (la, lb) = (a.take_leaves(), b.take_leaves());
    assert_eq!(la, lb);
    assert_eq!(la.len(), a.stats.leaves);
    // The leaves tile the box: their volumes add up to it, and every sample lies in one.
    let vol: f64 = la
        .iter()
        .map(|l| (0..3).map(|j| (l.upper[j] - l.lower[j]) / (prop.upper[j] - prop.lower[j])).product::<f64>())
        .sum();
    assert!((vol - 1.0).abs() < 1e-12, "{}", vol);
    let mut y = vec![0.0; 3];
    for _ in 0..3000 {
        let x: Vec<f64> = (0..3).map(|j| rng.range(prop.lower[j], prop.upper[j])).collect();
        let inside: Vec<&LeafRecord> =
            la.iter().filter(|l| (0..3).all(|j| x[j] >= l.lower[j] && x[j] <= l.upper[j])).collect();
        assert!(!inside.is_empty());
        net.forward(&x, &mut y);
        // A box proven safe has no violating sample.
        if prop.margin(&y) < 0.0 {
            assert!(inside.iter().all(|l| l.status != LeafStatus::Safe), "violating sample in a safe leaf");
        }
    }
}

#[test]
fn input_rows_and_bad_input() {
    let mut rng = Rng(5);
    let net = random_network(&mut rng, &[2, 6, 6, 2]);
    // Unsafe: y0 >= -100 (everything) but the input rows x0 + x1 <= -10 miss the box: holds.
    let d = Disjunct { a: vec![-1.0, 0.0], b: vec![100.0] };
    let prop = Property::new(2, 2, vec![-1.0, -1.0], vec![1.0, 1.0], &[1.0, 1.0], &[-10.0], vec![d.clone()]).unwrap();
    let v = run(&net, &prop, VerifyOptions::default(), 100);
    assert_eq!(v.verdict(), Verdict::Holds);
    assert_eq!(v.stats.volume[Method::Empty as usize], 1.0);
    // The same rows through the box: violated, with the counterexample inside the rows.
    let prop = Property::new(2, 2, vec![-1.0, -1.0], vec![1.0, 1.0], &[1.0, 1.0], &[-0.5], vec![d.clone()]).unwrap();
    let v = run(&net, &prop, VerifyOptions::default(), 100);
    assert_eq!(v.verdict(), Verdict::Violated);
    let x = &v.counterexample.as_ref().unwrap().x;
    assert!(x[0] + x[1] <= -0.5);
    assert!(Property::new(2, 2, vec![0.0, 0.0], vec![1.0, 1.0], &[], &[], vec![]).is_err());
    assert!(Property::new(2, 3, vec![0.0, 0.0], vec![1.0, 1.0], &[], &[], vec![d]).is_err());
    let p3 =
        Property::new(2, 3, vec![0.0, 0.0], vec![1.0, 1.0], &[], &[], vec![Disjunct { a: vec![1.0; 3], b: vec![0.0] }])
            .unwrap();
    assert!(Verifier::new(NetView::new(&net).unwrap(), p3, VerifyOptions::default()).is_err());
}

#[test]
fn no_random_points_at_the_root_still_works() {
    let mut rng = Rng(3);
    let net = random_network(&mut rng, &[2, 6, 6, 2]);
    let prop = random_property(&mut rng, &net, 1);
    let opts = VerifyOptions { root_samples: 0, box_samples: 0, ..VerifyOptions::default() };
    let v = run(&net, &prop, opts, 50);
    assert_ne!(v.verdict(), Verdict::Running);
}

/// Steps until the verdict or the work budget (`max_boxes`).
fn run_budget(net: &Network, prop: &Property, opts: VerifyOptions, budget: usize) -> Verifier {
    let mut v = Verifier::new(NetView::new(net).unwrap(), prop.clone(), opts).unwrap();
    let mut steps = 0;
    while v.step(budget).unwrap() == Verdict::Running && !v.spent() {
        steps += 1;
        assert!(steps < 1_000_000, "neither a verdict nor the budget spent");
    }
    v
}

#[test]
fn the_work_budget_stops_at_the_same_box_whatever_the_step_budget() {
    let mut opts = VerifyOptions { collect_leaves: true, stop_at_violation: false, ..VerifyOptions::default() };
    opts.leaf_unstable = 1;
    opts.max_depth = 12;
    // The first random case with a search long enough to cut in half.
    let (net, prop, full) = (1..200)
        .find_map(|seed| {
            let mut rng = Rng(seed);
            let net = random_network(&mut rng, &[3, 12, 12, 3]);
            let prop = random_property(&mut rng, &net, 0);
            let full = run(&net, &prop, opts, 100_000);
            if full.stats.boxes > 20 {
                Some((net, prop, full))
            } else {
                None
            }
        })
        .expect("a case with more than 20 boxes");
    opts.max_boxes = full.stats.boxes / 2;
    let mut a = run_budget(&net, &prop, opts, 1);
    let mut b = run_budget(&net, &prop, opts, 100_000);
    assert!(a.spent() && b.spent());
    assert_eq!(a.verdict(), Verdict::Running);
    assert_eq!(a.stats.boxes, opts.max_boxes);
    assert_eq!(a.stats, b.stats);
    assert_eq!(a.take_leaves(), b.take_leaves());
    assert_eq!(a.pending_boxes(), b.pending_boxes());
    // Stepping a spent verifier does nothing; the leaves and the waiting boxes tile the box.
    let before = a.stats.clone();
    assert_eq!(a.step(1000).unwrap(), Verdict::Running);
    assert_eq!(a.stats, before);
    let vol =
        |lo: &[f64], hi: &[f64]| (0..3).map(|j| (hi[j] - lo[j]) / (prop.upper[j] - prop.lower[j])).product::<f64>();
    let open: f64 = a.pending_boxes().iter().map(|p| vol(&p.lower, &p.upper)).sum();
    assert!((open + a.stats.decided() - 1.0).abs() < 1e-9, "{} + {}", open, a.stats.decided());
    // A budget larger than the search: the same answer as without one.
    opts.max_boxes = full.stats.boxes + 1;
    let c = run_budget(&net, &prop, opts, 7);
    assert_eq!(c.verdict(), full.verdict());
    assert_eq!(c.stats, full.stats);
}

#[test]
fn optimised_slopes_change_the_work_not_the_verdict() {
    // Tight φ2-like properties (mostly holding): the optimised slopes and the split score they
    // feed must give the verdict of the default slopes, and where it holds, a proof with a
    // positive margin no larger than the smallest margin seen at a point.
    let mut rng = Rng(2027);
    let mut holds = 0;
    for trial in 0..6 {
        let net = random_network(&mut rng, &[4, 12, 12, 4]);
        let prop = tight_phi2(&mut rng, &net);
        let base = VerifyOptions { root_samples: 256, ..VerifyOptions::default() };
        let old = run(&net, &prop, VerifyOptions { slope_steps: 0, ..base }, 200);
        let new = run(&net, &prop, base, 200);
        assert_eq!(old.verdict(), new.verdict(), "trial {}", trial);
        if new.verdict() == Verdict::Holds {
            holds += 1;
            assert!(new.stats.min_margin > 0.0 && new.stats.min_margin <= new.stats.best_margin);
            assert!((new.stats.decided() - 1.0).abs() < 1e-9);
        }
    }
    assert!(holds >= 3, "only {} of 6 hold", holds);
}

/// "Output 0 leads by at least t" on a random box, t 2 % above the best lead sampled: mostly
/// holds, with a tight margin (φ2-like: one disjunct of k − 1 rows).
fn tight_phi2(rng: &mut Rng, net: &Network) -> Property {
    let (n, k) = (net.n_in(), net.n_out());
    let lower: Vec<f64> = (0..n).map(|_| rng.range(-1.0, 0.0)).collect();
    let upper: Vec<f64> = lower.iter().map(|&l| l + rng.range(0.5, 1.0)).collect();
    let mut y = vec![0.0; k];
    let mut best = f64::NEG_INFINITY;
    for _ in 0..4000 {
        let x: Vec<f64> = (0..n).map(|j| rng.range(lower[j], upper[j])).collect();
        net.forward(&x, &mut y);
        best = best.max((1..k).map(|j| y[0] - y[j]).fold(f64::INFINITY, f64::min));
    }
    let t = best + 0.02 * (1.0 + best.abs());
    let mut a = Vec::new();
    for j in 1..k {
        let mut row = vec![0.0; k];
        row[j] = 1.0;
        row[0] = -1.0;
        a.extend(row);
    }
    Property::new(n, k, lower, upper, &[], &[], vec![Disjunct { a, b: vec![-t; k - 1] }]).unwrap()
}

/// The products one unit of a [`SymbolicPass`] may cost at most (its documentation): a column
/// through one operator, its rounding terms or relaxation, 64 neurons concretised, or the four
/// backward passes of one neuron.
fn largest_unit(view: &NetView) -> usize {
    let n = view.n_in();
    let cost: Vec<usize> = (0..view.layers()).map(|l| view.width(l) * view.row_terms(l).max(1)).collect();
    let all: usize = cost.iter().sum();
    (0..view.layers())
        .map(|l| (2 * cost[l]).max(8 * view.width(l) * (n + 1) + 4 * cost[l]))
        .max()
        .unwrap()
        .max(4 * all + 1)
        .max(6 * 64 * (n + 1))
}

fn same_bits(a: &[Vec<f64>], b: &[Vec<f64>]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.iter().map(|v| v.to_bits()).eq(y.iter().map(|v| v.to_bits())))
}

#[test]
fn symbolic_bounds_in_single_units_are_bit_for_bit_the_same() {
    use crate::bounds::{interval_bounds, SymbolicBounds, SymbolicPass};
    let mut rng = Rng(31);
    let net = random_network(&mut rng, &[24, 40, 40, 40, 4]);
    let view = NetView::new(&net).unwrap();
    let lower: Vec<f64> = (0..24).map(|_| rng.range(-1.0, 0.0)).collect();
    let upper: Vec<f64> = lower.iter().map(|&l| l + rng.range(0.2, 1.0)).collect();
    // A child box, with the parent's bounds as outer bounds (as branch and bound passes them).
    let mut child_up = upper.clone();
    child_up[3] = 0.5 * (lower[3] + upper[3]);
    let opts = BoundOptions::default();
    let parent = SymbolicBounds::compute(&view, &lower, &upper, opts).unwrap();
    for (lo, up, outer) in [(&lower, &upper, None), (&lower, &child_up, Some((&parent.lower[..], &parent.upper[..])))] {
        let ib = interval_bounds(&view, lo, up).unwrap();
        let whole = SymbolicBounds::compute_within(&view, lo, up, opts, &ib, outer).unwrap();
        let mut pass = SymbolicPass::new(&view, lo, up, opts).unwrap();
        let (mut calls, mut total) = (0, 0);
        while !pass.done() {
            let spent = pass.advance(&view, &ib, outer, 1);
            assert!(spent >= 1 && spent <= largest_unit(&view), "one unit cost {}", spent);
            total += spent;
            calls += 1;
        }
        // At least every column of every operator was a unit of its own.
        assert!(calls >= 4 * 25, "{} calls", calls);
        let sliced = pass.finish(&view).unwrap();
        assert!(same_bits(&whole.lower, &sliced.lower) && same_bits(&whole.upper, &sliced.upper));
        let row = [1.0, -1.0, 0.5, 0.0];
        assert_eq!(whole.row_upper(&view, &row, 0.1).unwrap(), sliced.row_upper(&view, &row, 0.1).unwrap());
        // The same products counted in one call as in single units.
        let mut once = SymbolicPass::new(&view, lo, up, opts).unwrap();
        assert_eq!(once.advance(&view, &ib, outer, usize::MAX), total);
        assert!(once.done());
    }
}

#[test]
fn a_large_box_is_bounded_across_steps_and_decided_the_same() {
    // Each column of an operator costs about half a work unit here, so the root box's bounds
    // take dozens of steps of budget 1; every step is bounded by one unit of the pass.
    let mut rng = Rng(5);
    let net = random_network(&mut rng, &[48, 150, 150, 150, 4]);
    let prop = random_property(&mut rng, &net, 1);
    let opts = VerifyOptions { root_samples: 64, box_samples: 2, max_boxes: 6, ..VerifyOptions::default() };
    let mut a = Verifier::new(NetView::new(&net).unwrap(), prop.clone(), opts).unwrap();
    let mut sliced_steps = 0;
    loop {
        let before = a.stats.boxes;
        a.step(1).unwrap();
        if a.bounding() {
            sliced_steps += 1;
            // A step that leaves bounds under way started at most one box.
            assert!(a.stats.boxes <= before + 1);
            assert_eq!(a.verdict(), Verdict::Running);
            assert!(!a.spent());
        }
        if a.verdict() != Verdict::Running || a.spent() {
            break;
        }
        assert!(sliced_steps < 100_000);
    }
    assert!(sliced_steps >= 20, "{} steps with bounds under way", sliced_steps);
    let b = run_budget(&net, &prop, opts, 1_000_000_000);
    assert_eq!(a.stats, b.stats);
    assert_eq!(a.verdict(), b.verdict());
    assert_eq!(a.pending_boxes(), b.pending_boxes());
}

#[test]
fn a_box_under_bounds_is_pending_and_handed_back() {
    let mut rng = Rng(5);
    let net = random_network(&mut rng, &[48, 150, 150, 150, 4]);
    let prop = random_property(&mut rng, &net, 1);
    let opts = VerifyOptions { root_samples: 64, ..VerifyOptions::default() };
    let mut v = Verifier::new(NetView::new(&net).unwrap(), prop.clone(), opts).unwrap();
    // Frontier mode, as the first search of a parallel verification.
    assert!(!v.expand(4, 1).unwrap());
    assert!(v.bounding());
    assert_eq!(v.pending(), 1);
    let root = v.pending_boxes();
    assert_eq!(root.len(), 1);
    assert_eq!((&root[0].lower, &root[0].upper), (&prop.lower, &prop.upper));
    let mut calls = 0;
    while !v.expand(4, 1).unwrap() {
        calls += 1;
        assert!(calls < 100_000);
    }
    assert!(!v.bounding());
}

/// "Output 0 stays below t", t above the largest value seen at 200 random points by `above`
/// times their range: the larger `above`, the rarer the violation (if any).
fn rare_threshold(rng: &mut Rng, net: &Network, above: f64) -> Property {
    let (n, k) = (net.n_in(), net.n_out());
    let lower: Vec<f64> = (0..n).map(|_| rng.range(-1.0, 0.0)).collect();
    let upper: Vec<f64> = lower.iter().map(|&l| l + rng.range(0.5, 1.0)).collect();
    let mut y = vec![0.0; k];
    let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
    for _ in 0..200 {
        let x: Vec<f64> = (0..n).map(|j| rng.range(lower[j], upper[j])).collect();
        net.forward(&x, &mut y);
        lo = lo.min(y[0]);
        hi = hi.max(y[0]);
    }
    let mut row = vec![0.0; k];
    row[0] = -1.0;
    let t = hi + above * (hi - lo);
    Property::new(n, k, lower, upper, &[], &[], vec![Disjunct { a: row, b: vec![-t] }]).unwrap()
}

#[test]
fn the_root_search_spans_steps_and_ends_the_same() {
    // An evaluation costs 5.4k products here, so a step of budget 1 (2^16 products) is about
    // a dozen evaluations, and the root search (6,000 points in three rounds, 48 descents)
    // hundreds of steps; `max_boxes` 1 stops after the root box.
    let mut rng = Rng(11);
    let net = random_network(&mut rng, &[16, 64, 64, 4]);
    let opts = VerifyOptions { root_samples: 6000, max_boxes: 1, ..VerifyOptions::default() };
    let mut seen = [0usize; 2];
    for above in [0.3, 0.6, 1.0, 2.0] {
        let prop = rare_threshold(&mut rng, &net, above);
        let whole = run_budget(&net, &prop, opts, 1_000_000_000);
        let mut a = Verifier::new(NetView::new(&net).unwrap(), prop.clone(), opts).unwrap();
        let (mut searching, mut steps) = (0, 0);
        while a.step(1).unwrap() == Verdict::Running && !a.spent() {
            steps += 1;
            assert!(steps < 1_000_000);
            if a.searching() {
                searching += 1;
                // Cut here, the search is the root's, under way: the root is pending, not lost.
                assert!(a.bounding());
                assert_eq!(a.pending(), 1);
                assert_eq!(a.pending_boxes()[0].depth, 0);
                assert!(a.stats.evaluations < whole.stats.evaluations);
            }
        }
        if whole.stats.evaluations == 0 {
            // Proven by the bounds at the root: no search.
            continue;
        }
        assert!(searching >= 20, "{} steps with the search under way", searching);
        assert_eq!(a.stats, whole.stats);
        assert_eq!(a.verdict(), whole.verdict());
        assert_eq!(a.counterexample, whole.counterexample);
        assert_eq!(a.pending_boxes(), whole.pending_boxes());
        seen[(whole.verdict() == Verdict::Violated) as usize] += 1;
    }
    // Both endings: a violation found mid-search (here in the first round: 2,097 evaluations),
    // and a search run through all its rounds (8,307 evaluations, over 600 steps).
    assert!(seen[0] >= 1 && seen[1] >= 1, "{:?}", seen);
}

// ---- Graphs (residual connections, concatenations, max pooling lowered to ReLUs) ----

use crate::bounds::graph_tests::{all_pre_activations, small_graph};
use crate::network::{Conv, Dense, Gather, Graph, Node, Op, Term, Window};

fn normals(rng: &mut Rng, n: usize, s: f64) -> Vec<f64> {
    (0..n).map(|_| rng.normal() * s).collect()
}

/// A residual network: x (4) → h1 = ReLU(W1 x + b1) (6) → h2 = ReLU(W2 h1 + b2 + h1) (6) →
/// y = W3 h2 + b3 − V x (3).
fn residual_net(rng: &mut Rng) -> Network {
    let d =
        |rng: &mut Rng, n_in: usize, n_out: usize| Op::Dense(Dense { n_in, n_out, w: normals(rng, n_in * n_out, 0.6) });
    let t = |from: usize, op: Op, negate: bool| Term { from, op, negate };
    let nodes = vec![
        Node { terms: vec![t(0, d(rng, 4, 6), false)], bias: normals(rng, 6, 0.2), relu: true },
        Node {
            terms: vec![t(1, d(rng, 6, 6), false), t(1, Op::Identity(6), false)],
            bias: normals(rng, 6, 0.2),
            relu: true,
        },
        Node {
            terms: vec![t(2, d(rng, 6, 3), false), t(0, d(rng, 4, 3), true)],
            bias: normals(rng, 3, 0.2),
            relu: false,
        },
    ];
    Network::from_graph(Graph { n_in: 4, nodes }).unwrap()
}

/// A MaxPool network: x [1,4,4] → ReLU(conv 3×3 pad 1) [2,4,4] → 2×2 max pooling [2,2,2],
/// lowered as the importer does (max(a, b) = a + ReLU(b − a), pairs then pairs of pairs) →
/// dense 3.
fn maxpool_net(rng: &mut Rng) -> Network {
    let t = |from: usize, op: Op, negate: bool| Term { from, op, negate };
    let g = |n_in: usize, index: Vec<usize>| {
        Op::Gather(Gather { n_in, index: index.into_iter().map(|i| i as u32).collect() })
    };
    let conv = Conv {
        image: [1, 4, 4],
        features: [2, 4, 4],
        window: Window { kernel: [3, 3], stride: [1, 1], pads: [1, 1, 1, 1], dilation: [1, 1] },
        groups: 1,
        transposed: false,
        w: normals(rng, 18, 0.5),
    };
    // The four elements of each pooling window (output p = (c, i, j)).
    let mut win: [Vec<usize>; 4] = Default::default();
    for c in 0..2 {
        for i in 0..2 {
            for j in 0..2 {
                let at = |di: usize, dj: usize| c * 16 + (2 * i + di) * 4 + 2 * j + dj;
                win[0].push(at(0, 0));
                win[1].push(at(0, 1));
                win[2].push(at(1, 0));
                win[3].push(at(1, 1));
            }
        }
    }
    let cat = |a: &Vec<usize>, b: &Vec<usize>| -> Vec<usize> { a.iter().chain(b).copied().collect() };
    let nodes = vec![
        // v1: the convolution.
        Node { terms: vec![t(0, Op::Conv(conv), false)], bias: normals(rng, 32, 0.1), relu: true },
        // v2 = [ReLU(b − a); ReLU(d − c)].
        Node {
            terms: vec![t(1, g(32, cat(&win[1], &win[3])), false), t(1, g(32, cat(&win[0], &win[2])), true)],
            bias: vec![0.0; 16],
            relu: true,
        },
        // v3 = [max(a, b); max(c, d)].
        Node {
            terms: vec![t(1, g(32, cat(&win[0], &win[2])), false), t(2, Op::Identity(16), false)],
            bias: vec![0.0; 16],
            relu: false,
        },
        // v4 = ReLU(max(c, d) − max(a, b)); v5 = max of the four.
        Node {
            terms: vec![t(3, g(16, (8..16).collect()), false), t(3, g(16, (0..8).collect()), true)],
            bias: vec![0.0; 8],
            relu: true,
        },
        Node {
            terms: vec![t(3, g(16, (0..8).collect()), false), t(4, Op::Identity(8), false)],
            bias: vec![0.0; 8],
            relu: false,
        },
        Node {
            terms: vec![t(5, Op::Dense(Dense { n_in: 8, n_out: 3, w: normals(rng, 24, 0.5) }), false)],
            bias: normals(rng, 3, 0.1),
            relu: false,
        },
    ];
    Network::from_graph(Graph { n_in: 16, nodes }).unwrap()
}

#[test]
fn the_maxpool_lowering_is_max_pooling() {
    let mut rng = Rng(5);
    let net = maxpool_net(&mut rng);
    let g = net.graph();
    for _ in 0..50 {
        let x: Vec<f64> = (0..16).map(|_| rng.normal()).collect();
        let mut y = vec![0.0; 3];
        net.forward(&x, &mut y);
        // Independently: convolution by its rows, max of each window, the dense head.
        let (pre, _) = all_pre_activations(&net, &x);
        let conv: Vec<f64> = pre[0].iter().map(|&v| v.max(0.0)).collect();
        let mut pooled = Vec::new();
        for c in 0..2 {
            for i in 0..2 {
                for j in 0..2 {
                    let at = |di: usize, dj: usize| conv[c * 16 + (2 * i + di) * 4 + 2 * j + dj];
                    pooled.push(at(0, 0).max(at(0, 1)).max(at(1, 0)).max(at(1, 1)));
                }
            }
        }
        let head = &g.nodes[5];
        for o in 0..3 {
            let mut s = head.bias[o];
            head.terms[0].op.for_each_in_row(o, |j, a| s += a * pooled[j]);
            assert!((s - y[o]).abs() < 1e-12, "{} vs {}", s, y[o]);
        }
    }
}

/// A property on a box where at most 3 inputs vary (the others fixed at random values: exact
/// enumeration stays small): "output 0 leads the others by `shift`" (kind 0) or "output 0 is at
/// most `shift`" (kind 1), `shift` near the largest sampled value so that proofs are tight.
fn property_on_few_inputs(rng: &mut Rng, net: &Network, kind: usize) -> Property {
    let lower: Vec<f64> = (0..net.n_in()).map(|_| rng.range(-1.0, 0.5)).collect();
    let upper: Vec<f64> =
        lower.iter().enumerate().map(|(j, &l)| if j < 3 { l + rng.range(0.2, 1.0) } else { l }).collect();
    property_near_max(rng, net, lower, upper, if kind == 0 { 0 } else { 2 })
}

/// `verify` on residual, MaxPool and random graphs agrees with exact region enumeration; every
/// counterexample is re-checked by an independent forward pass (the operators' rows).
#[test]
fn graph_verdicts_agree_with_exact_region_enumeration() {
    let mut rng = Rng(2026);
    let (mut holds, mut violated) = (0, 0);
    for trial in 0..36 {
        let net = match trial % 3 {
            0 => residual_net(&mut rng),
            1 => maxpool_net(&mut rng),
            _ => small_graph(&mut rng),
        };
        let prop = property_on_few_inputs(&mut rng, &net, (trial / 3) % 2);
        let truth = ground_truth(&net, &prop);
        if truth.abs() < 1e-6 {
            continue;
        }
        let opts = VerifyOptions { leaf_unstable: [10, 2][(trial / 2) % 2], ..VerifyOptions::default() };
        let v = run(&net, &prop, opts, 200);
        if truth > 0.0 {
            assert_eq!(v.verdict(), Verdict::Holds, "trial {}: holds (margin {}), stats {:?}", trial, truth, v.stats);
            assert!(v.stats.min_margin > 0.0 && v.stats.min_margin <= truth * (1.0 + 1e-9) + 1e-12);
            holds += 1;
        } else {
            assert_eq!(v.verdict(), Verdict::Violated, "trial {}: violated (margin {})", trial, truth);
            let c = v.counterexample.as_ref().unwrap();
            assert!(prop.contains(&c.x));
            let (_, y) = all_pre_activations(&net, &c.x);
            assert!(prop.margin(&y) < 0.0, "trial {}: the counterexample is not one", trial);
            violated += 1;
        }
    }
    assert!(holds >= 8 && violated >= 8, "holds {}, violated {}", holds, violated);
}
