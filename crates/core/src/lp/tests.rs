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
            (Err(Error::Lp(_)), None) => {}
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
