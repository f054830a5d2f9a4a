use super::*;
use crate::network::tests::Rng;

/// Brute force in 2-D: the maximum is at a vertex; enumerate intersections of constraint pairs.
fn brute_2d(g: &[f64], h: &[f64], lo: &[f64], hi: &[f64], c: &[f64]) -> Option<f64> {
    let mut rows: Vec<([f64; 2], f64)> = (0..h.len()).map(|i| ([g[2 * i], g[2 * i + 1]], h[i])).collect();
    rows.push(([1.0, 0.0], hi[0]));
    rows.push(([-1.0, 0.0], -lo[0]));
    rows.push(([0.0, 1.0], hi[1]));
    rows.push(([0.0, -1.0], -lo[1]));
    let mut best: Option<f64> = None;
    for a in 0..rows.len() {
        for b in a + 1..rows.len() {
            let (r1, r2) = (rows[a], rows[b]);
            let det = r1.0[0] * r2.0[1] - r1.0[1] * r2.0[0];
            if det.abs() < 1e-12 {
                continue;
            }
            let x = (r1.1 * r2.0[1] - r1.0[1] * r2.1) / det;
            let y = (r1.0[0] * r2.1 - r1.1 * r2.0[0]) / det;
            if rows.iter().all(|r| r.0[0] * x + r.0[1] * y <= r.1 + 1e-9) {
                let v = c[0] * x + c[1] * y;
                best = Some(best.map_or(v, |b: f64| b.max(v)));
            }
        }
    }
    best
}

#[test]
fn random_2d_lps_match_vertex_enumeration() {
    let mut rng = Rng(7);
    let mut solved = 0;
    for _ in 0..400 {
        let m = 1 + (rng.next_u64() % 12) as usize;
        let g: Vec<f64> = (0..2 * m).map(|_| rng.normal()).collect();
        let h: Vec<f64> = (0..m).map(|_| rng.range(-0.5, 2.0)).collect();
        let lo = [-3.0, -2.0];
        let hi = [2.5, 4.0];
        let c = [rng.normal(), rng.normal()];
        let p = Polytope::new(2, &g, &h, &lo, &hi).unwrap();
        let brute = brute_2d(&g, &h, &lo, &hi, &c);
        match (maximize(p, &c), brute) {
            (Ok(s), Some(b)) => {
                assert!((s.lower - b).abs() < 1e-7 * (1.0 + b.abs()), "lower {} vs {}", s.lower, b);
                assert!(s.upper >= b - 1e-9 && s.upper - b < 1e-7 * (1.0 + b.abs()), "upper {} vs {}", s.upper, b);
                assert!(s.infeasibility < 1e-8);
                solved += 1;
            }
            (Err(Error::Empty(_)), None) => {}
            (r, b) => panic!("disagree: {:?} vs {:?}", r.map(|s| s.lower), b),
        }
    }
    assert!(solved > 100);
}

#[test]
fn warm_started_objectives_agree_with_cold_solves() {
    let mut rng = Rng(11);
    for _ in 0..30 {
        let (n, m) = (6, 40);
        // Rows through a ball around the origin keep the region non-empty.
        let mut g = vec![0.0; m * n];
        let mut h = vec![0.0; m];
        for i in 0..m {
            let row: Vec<f64> = (0..n).map(|_| rng.normal()).collect();
            let nr = row.iter().map(|v| v * v).sum::<f64>().sqrt();
            for j in 0..n {
                g[i * n + j] = row[j] / nr;
            }
            h[i] = rng.range(0.1, 1.0);
        }
        let lo = vec![-1.0; n];
        let hi = vec![1.0; n];
        let p = Polytope::new(n, &g, &h, &lo, &hi).unwrap();
        let mut warm = Simplex::new(p);
        for _ in 0..5 {
            let c: Vec<f64> = (0..n).map(|_| rng.normal()).collect();
            let a = warm.maximize(&c).unwrap();
            let b = maximize(p, &c).unwrap();
            assert!((a.lower - b.lower).abs() < 1e-8, "{} vs {}", a.lower, b.lower);
            assert!(a.upper >= a.lower - 1e-12 && a.upper - a.lower < 1e-8);
            assert!(a.infeasibility < 1e-9);
        }
    }
}

#[test]
fn infeasible_region_is_an_error() {
    let g = [1.0, -1.0];
    let h = [-1.0, -1.0]; // x <= -1 and x >= 1
    let p = Polytope::new(1, &g, &h, &[-5.0], &[5.0]).unwrap();
    let e = maximize(p, &[1.0]).unwrap_err();
    assert!(e.to_string().contains("empty"), "{}", e);
}

#[test]
fn rejects_unbounded_box() {
    assert!(Polytope::new(1, &[], &[], &[f64::NEG_INFINITY], &[1.0]).is_err());
}

/// Brute force in n dimensions: every vertex of {G x <= h} ∩ box is the solution of n tight
/// constraints (rows or box faces); enumerate all n-subsets, keep the feasible ones. None when
/// no vertex is feasible (the polytope is empty, since a non-empty bounded one has a vertex).
fn brute(n: usize, g: &[f64], h: &[f64], lo: &[f64], hi: &[f64], c: &[f64]) -> Option<f64> {
    let mut rows: Vec<(Vec<f64>, f64)> = (0..h.len()).map(|i| (g[i * n..(i + 1) * n].to_vec(), h[i])).collect();
    for j in 0..n {
        let mut e = vec![0.0; n];
        e[j] = 1.0;
        rows.push((e.clone(), hi[j]));
        e[j] = -1.0;
        rows.push((e, -lo[j]));
    }
    let r = rows.len();
    let mut best: Option<f64> = None;
    let mut idx: Vec<usize> = (0..n).collect();
    loop {
        // Solve the n×n system of the chosen rows by Gaussian elimination with partial pivoting.
        let mut a: Vec<f64> = Vec::with_capacity(n * (n + 1));
        for &i in &idx {
            a.extend_from_slice(&rows[i].0);
            a.push(rows[i].1);
        }
        let mut ok = true;
        for col in 0..n {
            let piv = (col..n)
                .max_by(|&x, &y| a[x * (n + 1) + col].abs().partial_cmp(&a[y * (n + 1) + col].abs()).unwrap())
                .unwrap();
            if a[piv * (n + 1) + col].abs() < 1e-10 {
                ok = false;
                break;
            }
            for j in 0..=n {
                a.swap(piv * (n + 1) + j, col * (n + 1) + j);
            }
            for rr in 0..n {
                if rr != col {
                    let f = a[rr * (n + 1) + col] / a[col * (n + 1) + col];
                    for j in 0..=n {
                        a[rr * (n + 1) + j] -= f * a[col * (n + 1) + j];
                    }
                }
            }
        }
        if ok {
            let x: Vec<f64> = (0..n).map(|i| a[i * (n + 1) + n] / a[i * (n + 1) + i]).collect();
            if rows.iter().all(|(row, b)| row.iter().zip(&x).map(|(u, v)| u * v).sum::<f64>() <= b + 1e-9) {
                let v: f64 = c.iter().zip(&x).map(|(u, v)| u * v).sum();
                best = Some(best.map_or(v, |b: f64| b.max(v)));
            }
        }
        // Next n-subset in lexicographic order.
        let mut i = n;
        loop {
            if i == 0 {
                return best;
            }
            i -= 1;
            if idx[i] < r - n + i {
                idx[i] += 1;
                for j in i + 1..n {
                    idx[j] = idx[j - 1] + 1;
                }
                break;
            }
        }
    }
}

/// Normalised random rows through a ball around `centre`, so the region is not empty; some rows
/// are repeated (exactly or with another offset) and some come from a rank-1 family, as deep
/// layers fed by one active neuron produce.
fn degenerate_rows(rng: &mut Rng, n: usize, m: usize, centre: &[f64]) -> (Vec<f64>, Vec<f64>) {
    let mut g = Vec::with_capacity(m * n);
    let mut h = Vec::with_capacity(m);
    let family: Vec<f64> = (0..n).map(|_| rng.normal()).collect();
    for i in 0..m {
        let row: Vec<f64> = match i % 5 {
            3 if i > 0 => g[(i - 1) * n..i * n].to_vec(),
            4 => family.iter().map(|v| v * if rng.uniform() < 0.5 { 1.0 } else { -1.0 }).collect(),
            _ => (0..n).map(|_| rng.normal()).collect(),
        };
        let nr = row.iter().map(|v| v * v).sum::<f64>().sqrt();
        let row: Vec<f64> = row.iter().map(|v| v / nr).collect();
        let at_centre: f64 = row.iter().zip(centre).map(|(a, b)| a * b).sum();
        h.push(at_centre + if i % 5 == 3 { 0.0 } else { rng.range(0.02, 0.5) });
        g.extend(row);
    }
    (g, h)
}

fn check_bounds(s: &LpSolution, truth: f64, what: &str) {
    let tol = 1e-7 * (1.0 + truth.abs());
    assert!(s.lower <= truth + tol, "{}: lower {} above the true maximum {}", what, s.lower, truth);
    assert!(
        s.upper >= truth - 1e-9 * (1.0 + truth.abs()),
        "{}: upper {} below the true maximum {}",
        what,
        s.upper,
        truth
    );
    assert!(s.upper - s.lower <= tol, "{}: gap {} (lower {}, upper {})", what, s.upper - s.lower, s.lower, s.upper);
    assert!(s.infeasibility <= 1e-8, "{}: infeasibility {}", what, s.infeasibility);
}

#[test]
fn random_lps_in_3_and_4_dimensions_match_vertex_enumeration() {
    let mut rng = Rng(2024);
    let (mut solved, mut empty) = (0, 0);
    for t in 0..240 {
        let n = 3 + t % 2;
        let m = 4 + (rng.next_u64() % if n == 3 { 22 } else { 14 }) as usize;
        let lo: Vec<f64> = (0..n).map(|_| rng.range(-2.0, -0.5)).collect();
        let hi: Vec<f64> = (0..n).map(|_| rng.range(0.5, 2.0)).collect();
        let (g, h) = if t % 3 == 0 {
            // Independent rows with random offsets: sometimes empty.
            let g: Vec<f64> = (0..m * n).map(|_| rng.normal()).collect();
            let h: Vec<f64> = (0..m).map(|_| rng.range(-1.5, 1.0)).collect();
            (g, h)
        } else {
            let centre: Vec<f64> = (0..n).map(|j| rng.range(lo[j] * 0.5, hi[j] * 0.5)).collect();
            degenerate_rows(&mut rng, n, m, &centre)
        };
        let c: Vec<f64> = (0..n).map(|_| if rng.uniform() < 0.2 { 0.0 } else { rng.normal() }).collect();
        let p = Polytope::new(n, &g, &h, &lo, &hi).unwrap();
        let truth = brute(n, &g, &h, &lo, &hi, &c);
        match (maximize(p, &c), truth) {
            (Ok(s), Some(b)) => {
                check_bounds(&s, b, &format!("LP {}", t));
                solved += 1;
            }
            (Err(Error::Empty(msg)), None) => {
                assert!(msg.contains("empty"), "{}", msg);
                empty += 1;
            }
            (r, b) => panic!("LP {} disagrees: {:?} vs {:?}", t, r.map(|s| (s.lower, s.upper)), b),
        }
    }
    assert!(solved > 150 && empty > 5, "{} solved, {} empty", solved, empty);
}

/// A mid-sized degenerate LP family (many rows, few tight at the optimum).
/// n, G, h, lower, upper, c.
type Lp = (usize, Vec<f64>, Vec<f64>, Vec<f64>, Vec<f64>, Vec<f64>);

fn mid_lp(seed: u64) -> Lp {
    let mut rng = Rng(seed);
    let (n, m) = (24, 160);
    let centre: Vec<f64> = (0..n).map(|_| rng.range(0.3, 0.7)).collect();
    let (g, h) = degenerate_rows(&mut rng, n, m, &centre);
    let c: Vec<f64> = (0..n).map(|_| rng.normal()).collect();
    (n, g, h, vec![0.0; n], vec![1.0; n], c)
}

#[test]
fn every_method_reaches_the_same_certified_optimum() {
    // Forcing the budgets drives each fallback: the revised simplex gives up at once, then row
    // generation; the answer must not depend on which method produced it.
    for seed in 1..6 {
        let (n, g, h, lo, hi, c) = mid_lp(seed);
        let p = Polytope::new(n, &g, &h, &lo, &hi).unwrap();
        let mut primary = Simplex::new(p);
        let a = primary.maximize(&c).unwrap();
        assert_eq!(primary.stats().fallbacks, 0);
        assert!(a.pivots > 0);
        let mut second = Simplex::new(p);
        second.set_limits(LpLimits { revised: Some(0), ..LpLimits::default() });
        let b = second.maximize(&c).unwrap();
        let st = second.stats();
        assert_eq!(st.fallbacks, 1);
        assert!(st.reasons[0].starts_with("revised simplex: pivot limit reached"), "{:?}", st.reasons);
        let mut third = Simplex::new(p);
        third.set_limits(LpLimits { revised: Some(0), row_generation: Some(3), bland: None });
        let c3 = third.maximize(&c).unwrap();
        assert_eq!(third.stats().fallbacks, 2);
        for (s, what) in [(&b, "row generation"), (&c3, "Bland")] {
            check_bounds(s, a.lower, what);
            assert!((s.upper - a.upper).abs() <= 1e-7 * (1.0 + a.upper.abs()), "{}: {} vs {}", what, s.upper, a.upper);
        }
        // Warm starts after a fallback start cold and still agree.
        let c2: Vec<f64> = c.iter().map(|v| -v).collect();
        let d1 = primary.maximize(&c2).unwrap();
        let d2 = third.maximize(&c2).unwrap();
        check_bounds(&d2, d1.lower, "warm after fallback");
    }
}

#[test]
fn forced_limits_apply_per_thread_and_a_total_failure_names_sizes_pivots_and_reasons() {
    let (n, g, h, lo, hi, c) = mid_lp(9);
    let p = Polytope::new(n, &g, &h, &lo, &hi).unwrap();
    force_limits(Some(LpLimits::all(0)));
    let e = maximize(p, &c).unwrap_err();
    force_limits(None);
    let msg = e.to_string();
    assert!(matches!(e, Error::Lp(_)));
    for part in [
        "no certified maximum",
        "160 rows",
        "24 variables",
        "3 methods",
        "revised simplex: pivot limit reached",
        "row generation on a condensed tableau: pivot limit reached",
        "Bland's rule: pivot limit reached",
    ] {
        assert!(msg.contains(part), "missing {:?} in {}", part, msg);
    }
    // The override is gone again.
    assert!(maximize(p, &c).is_ok());
}

#[test]
fn an_empty_region_is_proven_by_a_verified_farkas_certificate_by_every_method() {
    let mut rng = Rng(77);
    for t in 0..20 {
        let n = 6;
        // A slab of width −0.1 along a random direction, among other rows.
        let dir: Vec<f64> = (0..n).map(|_| rng.normal()).collect();
        let mut g = Vec::new();
        let mut h = Vec::new();
        for _ in 0..10 {
            g.extend((0..n).map(|_| rng.normal()));
            h.push(rng.range(0.5, 1.0));
        }
        g.extend(dir.iter().cloned());
        h.push(0.1);
        g.extend(dir.iter().map(|v| -v));
        h.push(-0.2);
        let lo = vec![-1.0; n];
        let hi = vec![1.0; n];
        let p = Polytope::new(n, &g, &h, &lo, &hi).unwrap();
        let c: Vec<f64> = (0..n).map(|_| rng.normal()).collect();
        for limits in [
            LpLimits::default(),
            LpLimits { revised: Some(0), ..LpLimits::default() },
            LpLimits { revised: Some(0), row_generation: Some(0), bland: None },
        ] {
            let mut sx = Simplex::new(p);
            sx.set_limits(limits);
            let e = sx.maximize(&c).unwrap_err();
            assert!(matches!(e, Error::Empty(_)), "LP {}: {:?}", t, e);
            let e = e.to_string();
            assert!(
                e.contains("the region is empty") && e.contains("violated everywhere on the box"),
                "LP {}: {}",
                t,
                e
            );
        }
    }
}

#[test]
fn regions_of_deep_narrow_networks_are_solved_by_the_primary_method() {
    // Deep layers behind a bottleneck of one or two active neurons give families of (nearly)
    // parallel rows: the LPs on which the dense dual simplex used to cycle.
    let mut rng = Rng(5);
    let mut lps = 0;
    for t in 0..6 {
        let net = crate::network::tests::random_network(&mut rng, &[12, 24, 3, 24, 24, 24, 4]);
        let x0: Vec<f64> = (0..12).map(|_| rng.range(-1.0, 1.0)).collect();
        let lo = vec![-1.0; 12];
        let hi = vec![1.0; 12];
        let r = crate::region::LinearRegion::of_point(&net, &x0, &lo, &hi).unwrap();
        let p = r.polytope();
        let mut sx = Simplex::new(p);
        for o in 0..4 {
            let c: Vec<f64> = (0..12).map(|_| rng.normal()).collect();
            let a = sx.maximize(&c).unwrap();
            assert_eq!(sx.stats().fallbacks, 0, "network {} objective {}: {:?}", t, o, sx.stats().reasons);
            // Independent reference: Bland's rule on the full condensed tableau.
            let mut reference = Simplex::new(p);
            reference.set_limits(LpLimits { revised: Some(0), row_generation: Some(0), bland: None });
            let b = reference.maximize(&c).unwrap();
            check_bounds(&a, b.lower, "deep region");
            assert!(a.lower >= dot(&c, &x0) - 1e-9, "the anchor is in the region");
            lps += 1;
        }
    }
    assert_eq!(lps, 24);
}

#[test]
fn an_early_stop_certifies_a_bound_below_the_threshold_or_solves() {
    for seed in 20..26 {
        let (n, g, h, lo, hi, c) = mid_lp(seed);
        let p = Polytope::new(n, &g, &h, &lo, &hi).unwrap();
        let truth = maximize(p, &c).unwrap().lower;
        let base = Simplex::new(p);
        // Above the maximum: a certified bound between the maximum and the threshold.
        let mut s = base.sibling();
        match s.maximize_unless_below(&c, truth + 0.5).unwrap() {
            Err(bound) => assert!(bound >= truth - 1e-9 && bound <= truth + 0.5, "{} vs {}", bound, truth),
            Ok(sol) => panic!("no early stop: {}", sol.lower),
        }
        // Below the maximum: the full solution.
        let mut s = base.sibling();
        match s.maximize_unless_below(&c, truth - 0.5).unwrap() {
            Ok(sol) => check_bounds(&sol, truth, "no stop"),
            Err(bound) => panic!("stopped at {} below the maximum {}", bound, truth),
        }
    }
}

#[test]
fn tight_rows_carry_the_multipliers_of_the_optimum() {
    let (n, g, h, lo, hi, c) = mid_lp(31);
    let p = Polytope::new(n, &g, &h, &lo, &hi).unwrap();
    let mut sx = Simplex::new(p);
    let s = sx.maximize(&c).unwrap();
    let tight = sx.tight_rows();
    assert!(!tight.is_empty() && tight.len() < 160);
    for i in 0..160 {
        if s.duals[i] > 0.0 {
            assert!(tight.contains(&i), "row {} has a multiplier but is not tight", i);
            let v = dot(&g[i * n..(i + 1) * n], &s.x) - h[i];
            assert!(v.abs() < 1e-8, "row {} is not tight at x: {}", i, v);
        }
    }
}

#[test]
fn fixed_variables_terminate_and_match_vertex_enumeration_in_every_method() {
    // A coordinate with lower = upper (a fixed input of a property box, or a flat interval that
    // bounded_polytope keeps degenerate) once made a warm-started primal simplex flip it by zero
    // forever (the cause of a point-wise repair that ran for an hour, issue 14). Every method,
    // cold and warm, must stop with the optimum of the vertex enumeration.
    let mut rng = Rng(99);
    let mut solved = 0;
    for t in 0..120 {
        let n = 2 + (rng.next_u64() % 3) as usize;
        let m = 1 + (rng.next_u64() % 6) as usize;
        let g: Vec<f64> = (0..n * m).map(|_| rng.normal()).collect();
        let mut lo = vec![-1.0; n];
        let mut hi = vec![1.0; n];
        for _ in 0..1 + t % 2 {
            let f = (rng.next_u64() % n as u64) as usize;
            lo[f] = 0.25;
            hi[f] = 0.25;
        }
        // Rows with slack at the point that is 0 but on the fixed coordinates: not empty.
        let x0: Vec<f64> = (0..n).map(|j| if lo[j] == hi[j] { lo[j] } else { 0.0 }).collect();
        let h: Vec<f64> = (0..m).map(|i| dot(&g[i * n..(i + 1) * n], &x0) + rng.range(0.1, 1.0)).collect();
        let p = Polytope::new(n, &g, &h, &lo, &hi).unwrap();
        for method in 0..3 {
            let mut sx = Simplex::new(p);
            let pivots = 40 * (m + n) + 1000;
            sx.set_limits(match method {
                0 => LpLimits { revised: Some(pivots), row_generation: Some(0), bland: Some(0) },
                1 => LpLimits { revised: Some(0), row_generation: Some(pivots), bland: Some(0) },
                _ => LpLimits { revised: Some(0), row_generation: Some(0), bland: Some(pivots) },
            });
            for _ in 0..4 {
                let c: Vec<f64> = (0..n).map(|_| rng.normal()).collect();
                let truth = brute(n, &g, &h, &lo, &hi, &c).expect("x0 is feasible");
                let s = sx.maximize(&c).unwrap();
                check_bounds(&s, truth, &format!("case {} method {}", t, method));
                solved += 1;
            }
        }
    }
    assert_eq!(solved, 120 * 3 * 4);
}

#[test]
fn a_solver_failure_is_never_read_as_an_empty_set() {
    // Region enumeration treats only proven emptiness as empty: with every pivot budget at 0 the
    // LPs fail, and the enumeration must fail with Error::Lp instead of reporting an area with
    // no regions (which is what counting failures as empty cells gave).
    use crate::enumerate::{EnumerateOptions, RegionEnumerator};
    use crate::network::tests::random_network;
    let mut rng = Rng(31);
    let net = random_network(&mut rng, &[2, 8, 8, 3]);
    let (lo, hi) = ([-1.0, -1.5], [1.5, 1.0]);
    let opts = EnumerateOptions { eps: 1e-9, min_radius: 1e-9, max_regions: 100_000 };
    let mut en = RegionEnumerator::new(&net, &lo, &hi, &[], &[], opts).unwrap();
    assert!(en.run().is_ok() && en.count() > 1);
    force_limits(Some(LpLimits::all(0)));
    let outcome = RegionEnumerator::new(&net, &lo, &hi, &[], &[], opts).and_then(|mut en| en.run().map(|_| en.count()));
    force_limits(None);
    match outcome {
        Err(Error::Lp(msg)) => assert!(msg.contains("no certified maximum"), "{}", msg),
        other => panic!("expected an LP failure, got {:?}", other),
    }
    // An empty H-polytope is proven empty: no regions, and no error.
    let mut empty = RegionEnumerator::new(&net, &lo, &hi, &[1.0, 0.0, -1.0, 0.0], &[-0.5, -0.5], opts).unwrap();
    assert!(empty.run().is_ok());
    assert_eq!(empty.count(), 0);
    assert_eq!(empty.empty(), 1);
}

/// The revised method's refactorisation dots each row over its window of non-zeros only: the
/// windows hold every non-zero, have even bounds, and give the whole row's dot to the bit
/// (signed zeros in and outside the rows, odd and even widths, empty rows).
#[test]
fn row_windows_give_the_whole_rows_dot_bit_for_bit() {
    let mut rng = Rng(77);
    for n in [1usize, 2, 7, 8, 31] {
        let m = 40;
        let mut g = vec![0.0; m * n];
        for i in 0..m {
            if i % 7 == 3 {
                continue;
            }
            let a = (rng.next_u64() as usize) % n;
            let b = a + (rng.next_u64() as usize) % (n - a);
            for j in a..=b {
                g[i * n + j] = if rng.uniform() < 0.3 { -0.0 } else { rng.normal() };
            }
            if i % 5 == 0 {
                g[i * n + (rng.next_u64() as usize) % n] = -0.0;
            }
        }
        let owned = OwnedPolytope {
            n,
            m,
            g: g.clone(),
            h: vec![0.0; m],
            lower: vec![-1.0; n],
            upper: vec![1.0; n],
            transposed: Mutex::new(None),
            windows: Mutex::new(None),
        };
        let w = owned.row_windows();
        for _ in 0..20 {
            let x: Vec<f64> = (0..n).map(|_| if rng.uniform() < 0.2 { -0.0 } else { rng.normal() * 1e3 }).collect();
            for i in 0..m {
                let (lo, hi) = (w[i].0 as usize, w[i].1 as usize);
                assert!(lo % 2 == 0 && (hi % 2 == 0 || hi == n) && lo <= hi && hi <= n);
                let row = &g[i * n..(i + 1) * n];
                assert!(row[..lo].iter().chain(&row[hi..]).all(|v| *v == 0.0), "row {} outside its window", i);
                let full = crate::linalg::dot(row, &x);
                let windowed = crate::linalg::dot(&row[lo..hi], &x[lo..hi]);
                assert_eq!(full.to_bits(), windowed.to_bits(), "n {} row {}: {} vs {}", n, i, full, windowed);
            }
        }
    }
}
