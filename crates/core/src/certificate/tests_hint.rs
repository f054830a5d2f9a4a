//! The repair's kept rows as an untrusted hint for the certificate (`Certifier::region_with_hint`):
//! a correct hint gives the same verdict without the implied-row tests; a hint that drops rows
//! the region needs can only make the hinted proof refuse, and then the region itself decides;
//! an under-sized patch is refused whatever the hint, with a real witness inside the region.
//! Truth is decided independently: the repaired network's own forward pass at the witness and on
//! random points of the region.

use super::*;
use crate::minimal::{minimal_patch, Proof};
use crate::network::tests::{random_network, Rng};
use crate::network::Network;
use crate::network::{Dense, Graph, Node, Op, Term};
use crate::patch::Support;
use crate::repaired::RepairedNetwork;

/// A small graph network that is not a dense chain (its output also reads the input: a skip
/// connection), 3 inputs, 8 hidden neurons, 3 outputs.
fn small_graph(rng: &mut Rng) -> Network {
    let mut normals = |k: usize, s: f64| -> Vec<f64> { (0..k).map(|_| rng.normal() * s).collect() };
    let dense = |n_in: usize, n_out: usize, w: Vec<f64>| Op::Dense(Dense { n_in, n_out, w });
    let hidden = Node {
        terms: vec![Term { from: 0, op: dense(3, 8, normals(24, 1.0)), negate: false }],
        bias: normals(8, 0.3),
        relu: true,
    };
    let out = Node {
        terms: vec![
            Term { from: 1, op: dense(8, 3, normals(24, 1.0)), negate: false },
            Term { from: 0, op: dense(3, 3, normals(9, 0.5)), negate: true },
        ],
        bias: normals(3, 0.3),
        relu: false,
    };
    let net = Network::from_graph(Graph { n_in: 3, nodes: vec![hidden, out] }).unwrap();
    assert!(net.dense_layers().is_none());
    net
}

/// A graph network, a point of its box whose region violates a label spec, that region, and
/// its minimal constant patch `d`.
fn faulty_region(seed: u64) -> (Network, Vec<f64>, Vec<f64>, Spec, LinearRegion, Vec<f64>) {
    let mut rng = Rng(seed);
    loop {
        let net = small_graph(&mut rng);
        let n = net.n_in();
        let (lo, hi) = (vec![-1.0; n], vec![1.0; n]);
        let x0: Vec<f64> = (0..n).map(|_| rng.range(-0.8, 0.8)).collect();
        let mut y = vec![0.0; net.n_out()];
        net.forward(&x0, &mut y);
        // Ask for the output that is smallest at x0: violated there.
        let label = (0..y.len()).min_by(|&a, &b| y[a].partial_cmp(&y[b]).unwrap()).unwrap();
        let spec = Spec::label(net.n_out(), label, 0.0).unwrap();
        let region = LinearRegion::of_point(&net, &x0, &lo, &hi).unwrap();
        let mp = minimal_patch(&region, &spec).unwrap();
        if mp.proof != Proof::ConstantPatch || region.rows() < 4 {
            continue;
        }
        let d = mp.constant.unwrap().d;
        return (net, lo, hi, spec, region, d);
    }
}

/// The largest value of spec row j over the region (an LP).
fn worst(region: &LinearRegion, spec: &Spec, j: usize) -> f64 {
    let (sol, constant) = region.max_output(&mut region.simplex(), spec.row(j)).unwrap();
    sol.upper + constant - spec.q[j]
}

fn repaired(net: &Network, region: &LinearRegion, d: Vec<f64>) -> RepairedNetwork {
    let (a, b) = region.support_rows(1e-9, false).unwrap();
    let mut rep = RepairedNetwork::new(net.clone());
    rep.add_patch(PatchNetwork::constant(Support::new(net.n_in(), a, b, 0.05).unwrap(), d).unwrap()).unwrap();
    rep.chain = true;
    rep
}

fn certifier(rep: &RepairedNetwork, spec: &Spec, lo: &[f64], hi: &[f64]) -> Certifier {
    let safe = SafeSet::convex(spec.clone());
    Certifier::new(rep.clone(), safe, lo.to_vec(), hi.to_vec(), vec![], vec![], CertifyOptions::default()).unwrap()
}

#[test]
fn a_correct_hint_certifies_like_the_region_itself() {
    for seed in [3, 8, 21] {
        let (net, lo, hi, spec, region, d) = faulty_region(seed);
        let rep = repaired(&net, &region, d);
        let mut c = certifier(&rep, &spec, &lo, &hi);
        let plain = c.region(&region.pattern, &[], None).unwrap();
        assert!(plain.certified, "seed {}: {:?}", seed, plain);
        let hinted = c.region_with_hint(&region.pattern, &[], None, Some(&region.neuron)).unwrap();
        assert!(hinted.certified, "seed {}: {:?}", seed, hinted);
        assert_eq!(c.hint_refusals, 0, "seed {}: the repair's rows are the region's", seed);
    }
}

#[test]
fn a_hint_that_drops_needed_rows_only_refuses_and_the_region_decides() {
    let (net, lo, hi, spec, region, d) = faulty_region(8);
    let rep = repaired(&net, &region, d);
    let mut c = certifier(&rep, &spec, &lo, &hi);
    // Wrong hints: all kept rows but one of those tight at the worst point of the unpatched
    // region (not implied by the others: the maximum moves without them), and no row at all.
    let n = net.n_in();
    let row = spec
        .row(
            (0..spec.rows())
                .max_by(|&a, &b| worst(&region, &spec, a).partial_cmp(&worst(&region, &spec, b)).unwrap())
                .unwrap(),
        )
        .to_vec();
    let x = region.max_output(&mut region.simplex(), &row).unwrap().0.x;
    let mut by_slack: Vec<usize> = (0..region.rows()).collect();
    let slack = |i: usize| region.b[i] - crate::linalg::dot(&region.a[i * n..(i + 1) * n], &x);
    by_slack.sort_by(|&a, &b| slack(a).partial_cmp(&slack(b)).unwrap());
    let mut hints: Vec<Vec<u32>> = by_slack[..4]
        .iter()
        .map(|&i| region.neuron.iter().enumerate().filter(|&(k, _)| k != i).map(|(_, &v)| v).collect())
        .collect();
    hints.push(Vec::new());
    let mut refused = 0;
    for hint in &hints {
        let over = c.region_over(&region.pattern, &[], None, Some(hint)).unwrap();
        if !over.certified {
            refused += 1;
        }
        let before = c.hint_refusals;
        let cert = c.region_with_hint(&region.pattern, &[], None, Some(hint)).unwrap();
        assert!(cert.certified, "{:?}", cert);
        assert_eq!(c.hint_refusals - before, usize::from(!over.certified));
    }
    // The empty hint leaves only the box, where the patch's support cannot be proven to be 1.
    assert!(refused >= 1, "some wrong hint made the hinted proof refuse");
    // An index that names no hidden neuron is an error, not a hint.
    let bad = [net.hidden_count() as u32];
    assert!(matches!(c.region_with_hint(&region.pattern, &[], None, Some(&bad)), Err(Error::Invalid(_))));
}

#[test]
fn an_undersized_patch_is_refused_whatever_the_hint_with_a_real_witness() {
    for seed in [3, 8, 21] {
        let (net, lo, hi, spec, region, d) = faulty_region(seed);
        // Half the minimal patch: the spec fails on part of the region (the witness of the
        // minimal-patch LP, which is inside it).
        let half: Vec<f64> = d.iter().map(|v| 0.5 * v).collect();
        let rep = repaired(&net, &region, half);
        let mut c = certifier(&rep, &spec, &lo, &hi);
        let mut rng = Rng(seed + 100);
        let n = net.n_in();
        let kept = region.neuron.clone();
        let random: Vec<u32> = kept.iter().cloned().filter(|_| rng.uniform() < 0.5).collect();
        for hint in [None, Some(kept.clone()), Some(Vec::new()), Some(random)] {
            let cert = c.region_with_hint(&region.pattern, &[], None, hint.as_deref()).unwrap();
            assert!(!cert.certified, "seed {}, hint {:?}: {:?}", seed, hint.as_ref().map(|h| h.len()), cert);
            // The reported witness is a point of the region itself (not of a hinted superset),
            // up to the LP's feasibility tolerance, where the repaired network's own forward
            // pass violates the spec.
            assert_eq!(cert.witness.len(), n);
            assert!(region.violation(&cert.witness) <= 1e-7, "{}", region.violation(&cert.witness));
            let mut y = vec![0.0; net.n_out()];
            rep.forward(&cert.witness, &mut y);
            assert!(spec.violation(&y) > cert.tolerance, "seed {}: {:?} at the witness", seed, y);
        }
    }
}

#[test]
fn dense_chains_ignore_the_hint() {
    let mut rng = Rng(5);
    let net = random_network(&mut rng, &[3, 8, 8, 3]);
    let (lo, hi) = (vec![-1.0; 3], vec![1.0; 3]);
    let x0 = [0.1, -0.2, 0.3];
    let mut y = [0.0; 3];
    net.forward(&x0, &mut y);
    let label = (0..3).min_by(|&a, &b| y[a].partial_cmp(&y[b]).unwrap()).unwrap();
    let spec = Spec::label(3, label, 0.0).unwrap();
    let region = LinearRegion::of_point(&net, &x0, &lo, &hi).unwrap();
    let d = minimal_patch(&region, &spec).unwrap().constant.unwrap().d;
    let rep = repaired(&net, &region, d);
    let mut c = certifier(&rep, &spec, &lo, &hi);
    // An empty hint would leave only the box: a dense chain keeps every row anyway.
    let cert = c.region_with_hint(&region.pattern, &[], None, Some(&[])).unwrap();
    assert!(cert.certified, "{:?}", cert);
    assert_eq!(c.hint_refusals, 0);
}

/// The repair's multipliers of each spec row's LP over `region` (exact rows), aligned with
/// `region.neuron` (the hint the TypeScript side builds from a patch's support rows).
fn repair_duals(region: &LinearRegion, spec: &Spec) -> Vec<f64> {
    let mp = crate::minimal::minimal_patch_with(region, spec, true).unwrap();
    assert_eq!(mp.duals.len(), spec.rows() * region.rows());
    mp.duals
}

#[test]
fn the_repairs_multipliers_replace_the_row_lps() {
    for seed in [3, 8, 21] {
        let (net, lo, hi, spec, region, d) = faulty_region(seed);
        let rep = repaired(&net, &region, d);
        let duals = repair_duals(&region, &spec);
        let mut c = certifier(&rep, &spec, &lo, &hi);
        let plain = c.region_with_hint(&region.pattern, &[], None, Some(&region.neuron)).unwrap();
        let hinted = c.region_with_hints(&region.pattern, &[], None, Some(&region.neuron), Some(&duals)).unwrap();
        assert!(plain.certified && hinted.certified, "seed {}: {:?} {:?}", seed, plain, hinted);
        assert!(
            hinted.lps < plain.lps,
            "seed {}: {} LPs with the multipliers, {} without",
            seed,
            hinted.lps,
            plain.lps
        );
        assert!(hinted.max_violation <= hinted.tolerance);
        assert_eq!(c.hint_refusals, 0);
    }
}

#[test]
fn any_nonnegative_multipliers_bound_every_row_from_above() {
    // The check itself (dual_hint.rs): whatever λ >= 0 it is given, its bound is >= the true
    // maximum of the row over the region (an LP), so no hint can make a bound too small.
    let (_, _, _, spec, region, _) = faulty_region(21);
    let rows = region.rows();
    let neurons = region.neuron.clone();
    let mut rng = Rng(77);
    let exact = repair_duals(&region, &spec);
    for trial in 0..40 {
        let duals: Vec<f64> = (0..spec.rows() * rows)
            .map(|i| match trial % 4 {
                0 => exact[i],
                1 => exact[i] * rng.range(0.0, 2.0),
                2 => rng.range(0.0, 1.0) * 10f64.powi(trial % 7 - 3),
                _ => exact[i] + if rng.uniform() < 0.2 { rng.range(0.0, 0.1) } else { 0.0 },
            })
            .collect();
        let hint = DualHint { neurons: &neurons, duals: &duals };
        let at = super::dual_hint::HintedRows::new(&region, &hint);
        for j in 0..spec.rows() {
            let mut c = vec![0.0; region.n_in];
            for o in 0..region.n_out {
                crate::linalg::axpy(spec.row(j)[o], &region.f[o * region.n_in..(o + 1) * region.n_in], &mut c);
            }
            let truth = region.simplex().maximize(&c).unwrap().lower;
            if let Some(b) = at.bound(&region, &hint, j, &c, &region.lower, &region.upper) {
                assert!(b >= truth, "trial {}, row {}: bound {} below the maximum {}", trial, j, b, truth);
            }
        }
    }
}

#[test]
fn forged_multipliers_cannot_certify_an_undersized_patch() {
    for seed in [3, 8, 21] {
        let (net, lo, hi, spec, region, d) = faulty_region(seed);
        let half: Vec<f64> = d.iter().map(|v| 0.5 * v).collect();
        let rep = repaired(&net, &region, half);
        let mut c = certifier(&rep, &spec, &lo, &hi);
        let exact = repair_duals(&region, &spec);
        let len = exact.len();
        // The true optimal multipliers (the best bound there is: still above the tolerance),
        // their negation and huge multiples (which an unchecked sum y·b could turn into any
        // number), non-numbers, and multipliers of the wrong length (ignored).
        let mut forged: Vec<Vec<f64>> = vec![
            exact.clone(),
            exact.iter().map(|v| -v).collect(),
            exact.iter().map(|v| -1e6 * v - 1.0).collect(),
            exact.iter().map(|v| 1e300 * (v + 1.0)).collect(),
            vec![f64::NAN; len],
            vec![f64::NEG_INFINITY; len],
            vec![0.0; len],
            vec![1.0; len + 1],
        ];
        // The optimal multipliers plus a large z with Aᵀz = 0 and z·b < 0 (n + 1 rows of the
        // region are dependent): the same residual c − Aᵀy, a bound as low as one likes — were
        // the negative entries of z taken at face value instead of clipped at 0.
        if let Some(z) = null_combination(&region) {
            let m = region.rows();
            forged.push((0..len).map(|i| exact[i] + 1e3 * z[i % m]).collect());
        }
        for duals in &forged {
            let cert = c.region_with_hints(&region.pattern, &[], None, Some(&region.neuron), Some(duals)).unwrap();
            assert!(!cert.certified, "seed {}: forged multipliers certified {:?}", seed, cert);
            assert_eq!(cert.witness.len(), net.n_in());
            let mut y = vec![0.0; net.n_out()];
            rep.forward(&cert.witness, &mut y);
            assert!(spec.violation(&y) > cert.tolerance, "seed {}: {:?} at the witness", seed, y);
        }
    }
}

/// z over the region's rows (non-zero on its first n + 1 only) with Σ z_i a_i = 0 and z·b < 0,
/// by Gaussian elimination on the n × n system of the first n rows (None when singular or
/// when the region has too few rows).
fn null_combination(region: &LinearRegion) -> Option<Vec<f64>> {
    let (n, m) = (region.n_in, region.rows());
    if m < n + 1 {
        return None;
    }
    // Solve Σ_{i<n} z_i a_i = −a_n (columns: rows of A), z_n = 1.
    let mut mat: Vec<Vec<f64>> = (0..n)
        .map(|r| {
            let mut row: Vec<f64> = (0..n).map(|i| region.a[i * n + r]).collect();
            row.push(-region.a[n * n + r]);
            row
        })
        .collect();
    for col in 0..n {
        let piv = (col..n).max_by(|&a, &b| mat[a][col].abs().partial_cmp(&mat[b][col].abs()).unwrap())?;
        if mat[piv][col].abs() < 1e-9 {
            return None;
        }
        mat.swap(col, piv);
        for r in 0..n {
            if r != col {
                let f = mat[r][col] / mat[col][col];
                for k in col..=n {
                    mat[r][k] -= f * mat[col][k];
                }
            }
        }
    }
    let mut z = vec![0.0; m];
    for i in 0..n {
        z[i] = mat[i][n] / mat[i][i];
    }
    z[n] = 1.0;
    let zb: f64 = (0..m).map(|i| z[i] * region.b[i]).sum();
    if zb == 0.0 {
        return None;
    }
    let s = -zb.signum();
    Some(z.iter().map(|v| s * v).collect())
}
