//! Certificates that depend on the parameters alone: union safe sets (exact), the box gate
//! (proven, not assumed), regions relaxed by the enumeration's decision errors, and the
//! hand-built sliver networks of issue 11. Truth is decided independently (dense sampling of the
//! repaired network's own forward pass, exact dyadic reasoning on the constructions).

use super::*;
use crate::enumerate::{EnumerateOptions, RegionEnumerator};
use crate::network::tests::{random_network, Rng};
use crate::network::{Layer, Network};
use crate::patch::Support;
use crate::repaired::RepairedNetwork;

fn linear(w: Vec<f64>, b: Vec<f64>, n_in: usize) -> Network {
    let n_out = b.len();
    Network::new(vec![Layer { n_in, n_out, w, b, relu: false }]).unwrap()
}

fn union_of(pieces: Vec<(Vec<f64>, Vec<f64>)>, k: usize) -> SafeSet {
    SafeSet::new(pieces.into_iter().map(|(p, q)| Spec::new(k, p, q).unwrap()).collect()).unwrap()
}

fn certify_plain(net: &Network, safe: &SafeSet, lo: &[f64], hi: &[f64], x: &[f64]) -> RegionCertificate {
    let region = LinearRegion::of_point(net, x, lo, hi).unwrap();
    certify_target(&Target::exact(region, safe.rows()), &[], None, &[], safe, None, &CertifyOptions::default()).unwrap()
}

#[test]
fn a_region_where_no_single_piece_holds_but_the_union_does_is_certified() {
    // y = (x, −x) on [−1, 1]: safe = {y0 <= 0} ∪ {y1 <= 0}. Piece 0 fails for x > 0, piece 1 for
    // x < 0, the union holds everywhere (one LP: max t, t <= x, t <= −x, is 0).
    let net = linear(vec![1.0, -1.0], vec![0.0, 0.0], 1);
    let safe = union_of(vec![(vec![1.0, 0.0], vec![0.0]), (vec![0.0, 1.0], vec![0.0])], 2);
    let c = certify_plain(&net, &safe, &[-1.0], &[1.0], &[0.3]);
    assert!(c.certified, "{:?}", c);
    assert!(c.max_violation <= 1e-12, "{}", c.max_violation);
    // Each piece alone fails.
    for p in 0..2 {
        let one = SafeSet::convex(safe.pieces[p].clone());
        assert!(!certify_plain(&net, &one, &[-1.0], &[1.0], &[0.3]).certified, "piece {} alone", p);
    }
}

#[test]
fn a_union_that_fails_somewhere_is_refused_with_a_real_witness() {
    // Piece 1 shrunk to {y1 <= −0.5} (x >= 0.5): x in (0, 0.5) is unsafe, worst at x = 0.25
    // where both pieces are violated by 0.25.
    let net = linear(vec![1.0, -1.0], vec![0.0, 0.0], 1);
    let safe = union_of(vec![(vec![1.0, 0.0], vec![0.0]), (vec![0.0, 1.0], vec![-0.5])], 2);
    let c = certify_plain(&net, &safe, &[-1.0], &[1.0], &[0.3]);
    assert!(!c.certified);
    assert!((c.max_violation - 0.25).abs() < 1e-9, "{}", c.max_violation);
    let mut y = [0.0; 2];
    net.forward(&c.witness, &mut y);
    assert!((safe.violation(&y) - 0.25).abs() < 1e-9, "witness {:?} violates by {}", c.witness, safe.violation(&y));
}

#[test]
fn union_bounds_with_multi_row_pieces_are_sound_and_tight_against_sampling() {
    // Random networks and unions of two pieces of two rows each: on a linear region the union
    // bound is the exact maximum of min_p max_j g_j (up to rounding), so it is >= every sampled
    // value and close to the largest one.
    let mut rng = Rng(91);
    let (lo, hi) = ([-1.0, -1.0], [1.0, 1.0]);
    let mut checked = 0;
    for trial in 0..40 {
        let net = random_network(&mut rng, &[2, 6, 3]);
        let row = |rng: &mut Rng| (0..3).map(|_| rng.range(-1.0, 1.0)).collect::<Vec<f64>>();
        let pieces: Vec<(Vec<f64>, Vec<f64>)> = (0..2)
            .map(|_| {
                let (r1, r2) = (row(&mut rng), row(&mut rng));
                ([r1, r2].concat(), vec![rng.range(-0.3, 0.3), rng.range(-0.3, 0.3)])
            })
            .collect();
        let safe = union_of(pieces, 3);
        let x0 = [rng.range(-0.9, 0.9), rng.range(-0.9, 0.9)];
        let region = LinearRegion::of_point(&net, &x0, &lo, &hi).unwrap();
        let c = certify_plain(&net, &safe, &lo, &hi, &x0);
        let mut best = f64::NEG_INFINITY;
        let mut y = [0.0; 3];
        for _ in 0..20000 {
            let x = [rng.range(-1.0, 1.0), rng.range(-1.0, 1.0)];
            if region.violation(&x) > 0.0 {
                continue;
            }
            net.forward(&x, &mut y);
            best = best.max(safe.violation(&y));
        }
        if best == f64::NEG_INFINITY {
            continue;
        }
        checked += 1;
        assert!(c.max_violation >= best - 1e-12, "trial {}: bound {} below sampled {}", trial, c.max_violation, best);
        assert!(
            c.max_violation <= best + 0.05,
            "trial {}: bound {} far above sampled {}",
            trial,
            c.max_violation,
            best
        );
        assert_eq!(c.certified, c.max_violation <= c.tolerance);
        if best > 1e-6 {
            assert!(!c.certified, "trial {}: sampled violation {} but certified", trial, best);
        }
    }
    assert!(checked > 20);
}

/// A 1-D chain: f(x) = (x, −x) on [−1, 1], two constant patches on [−1, 0] (own) and [0, 1].
fn two_piece_chain(d_left: Vec<f64>, d_right: Vec<f64>, radius: f64) -> (Network, RepairedNetwork) {
    let net = Network::new(vec![
        Layer { n_in: 1, n_out: 1, w: vec![1.0], b: vec![0.0], relu: true },
        Layer { n_in: 1, n_out: 2, w: vec![0.0, 0.0], b: vec![0.0, 0.0], relu: false },
    ])
    .unwrap();
    let mut rep = RepairedNetwork::new(net.clone());
    rep.add_patch(PatchNetwork::constant(Support::new(1, vec![1.0], vec![0.0], radius).unwrap(), d_left).unwrap())
        .unwrap();
    rep.add_patch(PatchNetwork::constant(Support::new(1, vec![-1.0], vec![0.0], radius).unwrap(), d_right).unwrap())
        .unwrap();
    rep.chain = true;
    (net, rep)
}

#[test]
fn the_convex_tier_never_certifies_a_mix_of_outputs_in_different_pieces() {
    // f = 0. Left patch moves the output to (−1, 1) (piece A = {y0 <= −0.5}), right patch to
    // (1, −1) (piece B = {y1 <= −0.5}). On the left region the right patch's band mixes them:
    // (1 − w)·(−1, 1) + w·(1, −1) leaves both pieces around w = ½. Each candidate lies in *a*
    // piece; only the exact pieces may decide, and they find the hole.
    let safe = union_of(vec![(vec![1.0, 0.0], vec![-0.5]), (vec![0.0, 1.0], vec![-0.5])], 2);
    let (net, rep) = two_piece_chain(vec![-1.0, 1.0], vec![1.0, -1.0], 0.1);
    let region = LinearRegion::of_point(&net, &[-0.5], &[-1.0], &[1.0]).unwrap();
    let opts = CertifyOptions { chain: true, ..CertifyOptions::default() };
    let c = certify_target(&Target::exact(region, safe.rows()), &rep.patches, None, &[], &safe, None, &opts).unwrap();
    assert!(!c.certified, "{:?}", c);
    let mut y = [0.0; 2];
    rep.forward(&c.witness, &mut y);
    assert!(safe.violation(&y) > 0.4, "the witness {:?} is a real hole: {:?}", c.witness, y);
    // Sampling agrees that the region has a hole.
    let worst = (0..=2000)
        .map(|i| {
            let x = -1.0 + i as f64 * 0.0005;
            rep.forward(&[x], &mut y);
            safe.violation(&y)
        })
        .fold(f64::NEG_INFINITY, f64::max);
    assert!(worst > 0.4);
}

#[test]
fn a_moved_box_gate_is_not_trusted() {
    // A repaired area whose gate is moved so that it no longer covers a repaired region: the
    // certificate must not use the own patch there (it is switched off by the gate).
    let mut rng = Rng(17);
    let net = random_network(&mut rng, &[2, 8, 8, 3]);
    let (lo, hi) = ([-1.0, -1.0], [1.0, 1.0]);
    let spec = Spec::label(3, 1, 0.0).unwrap();
    let mut en = RegionEnumerator::new(
        &net,
        &lo,
        &hi,
        &[],
        &[],
        EnumerateOptions { eps: 0.0, min_radius: 1e-9, max_regions: 1000 },
    )
    .unwrap();
    en.run().unwrap();
    let h = en.hidden();
    let radius = 0.01;
    let mut rep = RepairedNetwork::new(net.clone());
    let mut patches = Vec::new();
    for r in 0..en.count() {
        let region = LinearRegion::of_pattern(&net, en.patterns[r * h..(r + 1) * h].to_vec(), &lo, &hi).unwrap();
        let mp = crate::minimal::minimal_patch(&region, &spec).unwrap();
        if let Some(cp) = mp.constant.filter(|_| mp.proof != crate::minimal::Proof::NotNeeded) {
            let (a, b) = region.support_rows(1e-9, false).unwrap();
            patches.push(PatchNetwork::constant(Support::new(2, a, b, radius).unwrap(), cp.d).unwrap());
        }
    }
    // The chain order of ts/compose.ts: constant patches by increasing norm.
    let norm = |p: &PatchNetwork| p.map.d().iter().fold(0.0f64, |m, v| m.max(v.abs()));
    patches.sort_by(|a, b| norm(a).partial_cmp(&norm(b)).unwrap());
    for p in patches {
        rep.add_patch(p).unwrap();
    }
    rep.chain = true;
    let safe = SafeSet::convex(spec.clone());
    let certify_all = |rep: &RepairedNetwork| -> (usize, Vec<Vec<f64>>) {
        let mut c = Certifier::new(
            rep.clone(),
            safe.clone(),
            lo.to_vec(),
            hi.to_vec(),
            vec![],
            vec![],
            CertifyOptions::default(),
        )
        .unwrap();
        let mut failed = 0;
        let mut witnesses = Vec::new();
        for r in 0..en.count() {
            let cert = c.region(&en.patterns[r * h..(r + 1) * h], &en.slack[r * h..(r + 1) * h], None).unwrap();
            if !cert.certified {
                failed += 1;
                witnesses.push(cert.witness.clone());
                // Refused by the bound itself, not only by the last check at the witness.
                assert!(
                    cert.max_violation > cert.tolerance,
                    "region {}: the bound certified a violated region: {:?}",
                    r,
                    cert
                );
            }
        }
        (failed, witnesses)
    };
    rep.box_gate = Some(crate::gate::BoxGate::new(lo.to_vec(), hi.to_vec(), radius).unwrap());
    assert_eq!(certify_all(&rep).0, 0, "the honest repair is certified");
    // Move the gate's lower bound of input 0 to the middle: the left half is unpatched.
    rep.box_gate = Some(crate::gate::BoxGate::new(vec![0.0, -1.0], hi.to_vec(), radius).unwrap());
    let (failed, witnesses) = certify_all(&rep);
    assert!(failed > 0);
    // Truth by sampling: the moved gate leaves violations, and a refused region's witness
    // violates in the repaired network (for those with a witness inside the region).
    let mut y = [0.0; 3];
    let violating = (0..20000)
        .filter(|_| {
            let x = [rng.range(-1.0, 1.0), rng.range(-1.0, 1.0)];
            rep.forward(&x, &mut y);
            spec.violation(&y) > 1e-9
        })
        .count();
    assert!(violating > 0);
    let real = witnesses.iter().filter(|w| w.len() == 2).any(|w| {
        rep.forward(w, &mut y);
        spec.violation(&y) > 1e-6
    });
    assert!(real, "some refused region comes with a real witness");
}

#[test]
fn a_relaxed_region_charges_its_decision_errors() {
    // A sliver the enumeration did not split (eps = 1e-6 > its width 5e-7): the region of the
    // all-inactive pattern relaxed by the decision error covers the sliver, and the budget
    // (S = 10 times the reach 5e-7) makes the certificate fail — the truth: y0 = 10·ReLU(x0 −
    // (1000 − 5e-7)) reaches 5e-6 > 0 at x0 = 1000.
    let net = Network::new(vec![
        Layer { n_in: 2, n_out: 1, w: vec![1.0, 0.0], b: vec![-(1000.0 - 5e-7)], relu: true },
        Layer { n_in: 1, n_out: 2, w: vec![10.0, 0.0], b: vec![0.0, 0.0], relu: false },
    ])
    .unwrap();
    let (lo, hi) = ([0.0, 0.0], [1000.0, 1000.0]);
    let spec = Spec::label(2, 1, 0.0).unwrap();
    let safe = SafeSet::convex(spec);
    for (eps, regions) in [(1e-6, 1), (0.0, 2)] {
        let mut en = RegionEnumerator::new(
            &net,
            &lo,
            &hi,
            &[],
            &[],
            EnumerateOptions { eps, min_radius: 1e-6, max_regions: 10 },
        )
        .unwrap();
        en.run().unwrap();
        assert_eq!(en.count(), regions, "eps {}", eps);
        let mut c = Certifier::new(
            RepairedNetwork::new(net.clone()),
            safe.clone(),
            lo.to_vec(),
            hi.to_vec(),
            vec![],
            vec![],
            CertifyOptions::default(),
        )
        .unwrap();
        let certs: Vec<RegionCertificate> =
            (0..en.count()).map(|r| c.region(&en.patterns[r..r + 1], &en.slack[r..r + 1], None).unwrap()).collect();
        assert!(certs.iter().any(|c| !c.certified), "eps {}: a false certificate", eps);
        let worst = certs.iter().map(|c| c.max_violation).fold(f64::NEG_INFINITY, f64::max);
        assert!(worst >= 5e-6 * (1.0 - 1e-6), "eps {}: bound {} below the true 5e-6", eps, worst);
        if eps > 0.0 {
            assert!(certs[0].error_budget >= 5e-6 * (1.0 - 1e-6), "the sliver is charged: {}", certs[0].error_budget);
        }
    }
}

#[test]
fn union_pieces_with_patches_match_the_repaired_network_at_their_witness() {
    // A chain of label patches certified against a union whose pieces are the single rows of the
    // label spec (y1 >= y0, y1 >= y2 as separate pieces) and an unrelated half-space: the exact
    // pieces' witness values are the repaired network's own union violation there.
    let mut rng = Rng(23);
    let net = random_network(&mut rng, &[2, 8, 8, 3]);
    let (lo, hi) = ([-1.0, -1.0], [1.0, 1.0]);
    let spec = Spec::label(3, 1, 0.0).unwrap();
    let mut en = RegionEnumerator::new(
        &net,
        &lo,
        &hi,
        &[],
        &[],
        EnumerateOptions { eps: 0.0, min_radius: 1e-9, max_regions: 1000 },
    )
    .unwrap();
    en.run().unwrap();
    let h = en.hidden();
    let mut patches = Vec::new();
    for r in 0..en.count() {
        let region = LinearRegion::of_pattern(&net, en.patterns[r * h..(r + 1) * h].to_vec(), &lo, &hi).unwrap();
        let mp = crate::minimal::minimal_patch(&region, &spec).unwrap();
        if let Some(cp) = mp.constant.filter(|_| mp.proof != crate::minimal::Proof::NotNeeded) {
            let (a, b) = region.support_rows(1e-9, false).unwrap();
            patches.push(PatchNetwork::constant(Support::new(2, a, b, 0.02).unwrap(), cp.d).unwrap());
        }
    }
    let mut rep = RepairedNetwork::new(net);
    for p in patches {
        rep.add_patch(p).unwrap();
    }
    rep.chain = true;
    rep.box_gate = Some(crate::gate::BoxGate::new(lo.to_vec(), hi.to_vec(), 0.02).unwrap());
    let safe = union_of(
        vec![(vec![1.0, -1.0, 0.0], vec![0.0]), (vec![0.0, -1.0, 1.0], vec![0.0]), (vec![1.0, 1.0, 1.0], vec![-2.5])],
        3,
    );
    let mut c = Certifier::new(
        rep,
        safe,
        lo.to_vec(),
        hi.to_vec(),
        vec![],
        vec![],
        CertifyOptions { bound_helpful: false, ..CertifyOptions::default() },
    )
    .unwrap();
    let mut compared = 0;
    for r in 0..en.count() {
        let cert = c.region(&en.patterns[r * h..(r + 1) * h], &[], None).unwrap();
        if cert.witness.len() == 2 && cert.witness_in_region && cert.exact_patches > 0 {
            let v = cert.witness_violation.unwrap();
            assert!(
                (v - cert.witness_value).abs() <= 1e-6 * (1.0 + v.abs()),
                "region {}: the pieces' union value {} at {:?}, the network's {}",
                r,
                cert.witness_value,
                cert.witness,
                v
            );
            compared += 1;
        }
    }
    assert!(compared > 0);
}
