//! Certificates checked against sampling, the repaired network's own forward pass, and broken
//! or conflicting patches.

use super::chain::tiling_cells;
use super::rows::RowSet;
use super::*;
use crate::enumerate::{EnumerateOptions, RegionEnumerator};
use crate::minimal::{minimal_patch, MinimalPatch, Proof};
use crate::network::tests::{random_network, Rng};
use crate::network::Network;
use crate::patch::{AffinePatch, PatchMap, Support};
use crate::repaired::RepairedNetwork;

fn constant_patch(region: &LinearRegion, d: Vec<f64>, radius: f64) -> PatchNetwork {
    let (a, b) = region.support_rows(1e-9, true).unwrap();
    PatchNetwork::constant(Support::new(region.n_in, a, b, radius).unwrap(), d).unwrap()
}

/// The constant patch of a minimal-patch result (there is one in these tests).
fn d_of(mp: &MinimalPatch) -> Vec<f64> {
    mp.constant.as_ref().expect("a constant patch").d.clone()
}

fn argmax(y: &[f64]) -> usize {
    (0..y.len()).fold(0, |b, i| if y[i] > y[b] { i } else { b })
}

/// Area repair of a random 2-D network in miniature: every region of the box that violates a
/// label spec gets its minimal constant patch.
fn repaired_area(seed: u64, radius: f64) -> (Network, Vec<LinearRegion>, RepairedNetwork, Spec, usize) {
    let mut rng = Rng(seed);
    let net = random_network(&mut rng, &[2, 8, 8, 3]);
    let lo = [-1.0, -1.0];
    let hi = [1.0, 1.0];
    let mut en = RegionEnumerator::new(
        &net,
        &lo,
        &hi,
        &[],
        &[],
        EnumerateOptions { eps: 1e-9, min_radius: 1e-9, max_regions: 10_000 },
    )
    .unwrap();
    en.run().unwrap();
    let h = en.hidden();
    let spec = Spec::label(3, 1, 0.0).unwrap();
    let mut rep = RepairedNetwork::new(net.clone());
    let mut regions = Vec::new();
    let mut repaired = 0;
    for r in 0..en.count() {
        let region = LinearRegion::of_pattern(&net, en.patterns[r * h..(r + 1) * h].to_vec(), &lo, &hi).unwrap();
        let mp = minimal_patch(&region, &spec).unwrap();
        if mp.proof != Proof::NotNeeded {
            rep.add_patch(constant_patch(&region, d_of(&mp), radius)).unwrap();
            repaired += 1;
        }
        regions.push(region);
    }
    (net, regions, rep, spec, repaired)
}

#[test]
fn a_sound_area_repair_is_certified_on_every_region() {
    for seed in [3u64, 4, 5] {
        let (net, regions, rep, spec, repaired) = repaired_area(seed, 0.05);
        assert!(repaired > 0 && repaired < regions.len(), "seed {}: {} of {}", seed, repaired, regions.len());
        let mut bounded = 0;
        for (ri, region) in regions.iter().enumerate() {
            let c = certify_region(region, &rep.patches, &spec, &CertifyOptions::default()).unwrap();
            assert!(
                c.certified,
                "seed {} region {}: violation {} > tolerance {}",
                seed, ri, c.max_violation, c.tolerance
            );
            assert!(c.error_budget <= c.tolerance);
            assert_eq!(c.empty_pieces, 0);
            if c.patches.len() > c.exact_patches {
                bounded += 1;
            }
        }
        assert!(bounded > 0, "neighbouring bands reach some regions and are bounded by 0");
        // Sampling agrees: label 1 wins everywhere in the box.
        let mut rng = Rng(seed + 100);
        for _ in 0..3000 {
            let x = [rng.range(-1.0, 1.0), rng.range(-1.0, 1.0)];
            let mut y = [0.0; 3];
            rep.forward(&x, &mut y);
            assert!(spec.violation(&y) <= 1e-9, "seed {}: x {:?} y {:?}", seed, x, y);
        }
        let _ = net;
    }
}

#[test]
fn exact_pieces_agree_with_the_bounded_certificate_and_with_sampling() {
    // Every patch modelled exactly: regions split along neighbouring bands, and the pieces'
    // affine maps are the repaired network (checked at sample points of every piece).
    let (_net, regions, rep, spec, _) = repaired_area(5, 0.01);
    let exact = CertifyOptions { bound_helpful: false, ..CertifyOptions::default() };
    let mut split = 0;
    for region in &regions {
        let c = certify_region(region, &rep.patches, &spec, &exact).unwrap();
        assert!(c.certified, "{:?}", c);
        assert_eq!(c.exact_patches, c.patches.len());
        if c.pieces > 1 {
            split += 1;
        }
        let mut y = [0.0; 3];
        rep.forward(&c.witness, &mut y);
        let v = spec.violation(&y);
        assert!((v - c.witness_value).abs() < 1e-9 * (1.0 + v.abs()), "piece map {} vs network {}", c.witness_value, v);
    }
    assert!(split > 0, "bands of neighbouring patches split some regions");
}

#[test]
fn a_region_past_the_piece_limit_is_a_piece_limit_error() {
    let (_net, regions, rep, spec, _) = repaired_area(5, 0.01);
    let exact = CertifyOptions { bound_helpful: false, ..CertifyOptions::default() };
    let mut limited = 0;
    for region in &regions {
        let pieces = certify_region(region, &rep.patches, &spec, &exact).unwrap().pieces;
        let capped = CertifyOptions { max_pieces: pieces - 1, ..exact };
        match certify_region(region, &rep.patches, &spec, &capped) {
            Err(Error::PieceLimit { limit }) => {
                assert_eq!(limit, pieces - 1);
                limited += 1;
            }
            Ok(c) => assert_eq!(pieces, 1, "a region of {} pieces certified within {}: {:?}", pieces, pieces - 1, c),
            Err(e) => panic!("{}", e),
        }
    }
    assert!(limited > 0);
}

#[test]
fn patches_gated_by_a_shared_box_indicator_are_certified_exactly() {
    // Supports without box rows, one box gate for all (as point-wise repair builds them).
    let mut rng = Rng(6);
    let net = random_network(&mut rng, &[2, 8, 8, 3]);
    let lo = [-1.0, -1.0];
    let hi = [1.0, 1.0];
    let mut en = RegionEnumerator::new(
        &net,
        &lo,
        &hi,
        &[],
        &[],
        EnumerateOptions { eps: 1e-9, min_radius: 1e-9, max_regions: 10_000 },
    )
    .unwrap();
    en.run().unwrap();
    let h = en.hidden();
    let spec = Spec::label(3, 2, 0.0).unwrap();
    let mut rep = RepairedNetwork::new(net.clone());
    let radius = 0.01;
    rep.set_box_gate(BoxGate::new(lo.to_vec(), hi.to_vec(), radius).unwrap()).unwrap();
    let mut regions = Vec::new();
    for r in 0..en.count() {
        let region = LinearRegion::of_pattern(&net, en.patterns[r * h..(r + 1) * h].to_vec(), &lo, &hi).unwrap();
        let mp = minimal_patch(&region, &spec).unwrap();
        if mp.proof != Proof::NotNeeded {
            let (a, b) = region.support_rows(1e-9, false).unwrap();
            rep.add_patch(PatchNetwork::constant(Support::new(2, a, b, radius).unwrap(), d_of(&mp)).unwrap()).unwrap();
        }
        regions.push(region);
    }
    assert!(rep.patches.len() > 1);
    let exact = CertifyOptions { bound_helpful: false, ..CertifyOptions::default() };
    let mut split = 0;
    for region in &regions {
        for o in [CertifyOptions::default(), exact] {
            let safe = SafeSet::convex(spec.clone());
            let target = Target::exact(region.clone(), safe.rows());
            let c = certify_target(&target, &rep.patches, rep.box_gate.as_ref(), &[], &safe, None, &o).unwrap();
            assert!(c.certified, "{:?}", c);
            if c.exact_patches > 0 {
                let mut y = [0.0; 3];
                rep.forward(&c.witness, &mut y);
                let v = spec.violation(&y);
                if !o.bound_helpful {
                    assert!(
                        (v - c.witness_value).abs() < 1e-9 * (1.0 + v.abs()),
                        "piece map {} vs network {}",
                        c.witness_value,
                        v
                    );
                    split += (c.pieces > 1) as usize;
                }
            }
        }
    }
    assert!(split > 0);
}

#[test]
fn a_broken_patch_is_not_certified_and_the_witness_violates() {
    let (_net, regions, mut rep, spec, _) = repaired_area(3, 0.01);
    // Shrink one patch to 30 % of its minimal size: its region must fail, with a witness.
    let target = 0;
    for v in rep.patches[target].map.d_mut().iter_mut() {
        *v *= 0.3;
    }
    let p = rep.patches[target].clone();
    let mut failed = 0;
    let exact = CertifyOptions { bound_helpful: false, ..CertifyOptions::default() };
    for region in &regions {
        let c = certify_region(region, &rep.patches, &spec, &CertifyOptions::default()).unwrap();
        let e = certify_region(region, &rep.patches, &spec, &exact).unwrap();
        assert!(e.certified || !c.certified, "bounding helpful patches can only lose certificates");
        assert!(e.max_violation <= c.max_violation + 1e-12, "bounding helpful patches can only raise the bound");
        let c = e;
        if !c.certified {
            failed += 1;
            assert!(c.max_violation > c.tolerance);
            assert!(c.witness_value > 0.0);
            assert!(region.violation(&c.witness) <= 1e-9);
            let mut y = [0.0; 3];
            rep.forward(&c.witness, &mut y);
            assert!(spec.violation(&y) > 0.0, "the witness really violates: y {:?}", y);
            assert_ne!(argmax(&y), 1);
        }
    }
    assert!(failed >= 1);
    let _ = p;
}

#[test]
fn irrelevant_patches_are_left_out_and_own_patch_gives_one_piece() {
    let (_net, regions, rep, spec, _) = repaired_area(4, 1e-4);
    for region in &regions {
        let c = certify_region(region, &rep.patches, &spec, &CertifyOptions::default()).unwrap();
        assert!(c.certified, "{:?}", c);
        assert!(c.patches.len() < rep.patches.len() || rep.patches.len() <= 1);
    }
}

#[test]
fn conflicting_patches_fail_where_bands_overlap() {
    // One region, two affine-free patches pushing opposite ways on the same rows: the sum is
    // 0 on the region, so the spec fails there although each patch alone would fix it.
    let mut rng = Rng(9);
    let net = random_network(&mut rng, &[2, 6, 2]);
    let lo = [-1.0, -1.0];
    let hi = [1.0, 1.0];
    let region = LinearRegion::of_point(&net, &[0.1, 0.1], &lo, &hi).unwrap();
    let spec = Spec::new(2, vec![1.0, 0.0], vec![-100.0]).unwrap(); // y0 <= -100
    let mp = minimal_patch(&region, &spec).unwrap();
    let good = constant_patch(&region, d_of(&mp), 0.1);
    let alone = certify_region(&region, std::slice::from_ref(&good), &spec, &CertifyOptions::default()).unwrap();
    assert!(alone.certified, "{} > {}", alone.max_violation, alone.tolerance);
    let bad = constant_patch(&region, d_of(&mp).iter().map(|v| -v).collect(), 0.1);
    let both = certify_region(&region, &[good, bad], &spec, &CertifyOptions::default()).unwrap();
    assert!(!both.certified);
    assert!(both.max_violation > 50.0);
}

#[test]
fn affine_patches_are_certified_through_their_clamp_relus() {
    let mut rng = Rng(13);
    let net = random_network(&mut rng, &[2, 6, 2]);
    let lo = [-1.0, -1.0];
    let hi = [1.0, 1.0];
    let region = LinearRegion::of_point(&net, &[0.2, -0.1], &lo, &hi).unwrap();
    // Patch p = −(F x + e) + t: makes y = t exactly on the region; spec |y_o − t_o| <= 0.01.
    let t = [0.5, -0.25];
    let c: Vec<f64> = region.f.iter().map(|v| -v).collect();
    let d: Vec<f64> = (0..2).map(|o| t[o] - region.e[o]).collect();
    let mut hh = vec![0.0; 2];
    let mut sx = region.simplex();
    for o in 0..2 {
        let co = &c[o * 2..(o + 1) * 2];
        let up = sx.maximize(co).unwrap().upper + d[o];
        let neg: Vec<f64> = co.iter().map(|v| -v).collect();
        let dn = sx.maximize(&neg).unwrap().upper - d[o];
        hh[o] = up.max(dn).max(0.0);
    }
    let (a, b) = region.support_rows(1e-9, true).unwrap();
    let affine = |a: Vec<f64>, b: Vec<f64>, h: Vec<f64>| {
        let map = PatchMap::Affine(AffinePatch { c: c.clone(), d: d.clone(), h });
        PatchNetwork::new(Support::new(2, a, b, 0.05).unwrap(), map).unwrap()
    };
    let patch = affine(a, b, hh.clone());
    let spec = Spec::new(
        2,
        vec![1.0, 0.0, -1.0, 0.0, 0.0, 1.0, 0.0, -1.0],
        vec![t[0] + 0.01, -t[0] + 0.01, t[1] + 0.01, -t[1] + 0.01],
    )
    .unwrap();
    let cert = certify_region(&region, std::slice::from_ref(&patch), &spec, &CertifyOptions::default()).unwrap();
    assert!(cert.certified, "{} > {}", cert.max_violation, cert.tolerance);
    assert!((cert.witness_value - (-0.01)).abs() < 1e-9, "tight: {}", cert.witness_value);
    // A clamp bound that is too small cuts the patch on part of the region.
    let mut small = hh;
    small[0] *= 0.5;
    let cut = affine(patch.support.dense_rows().into_owned(), patch.support.b, small);
    let cert = certify_region(&region, &[cut], &spec, &CertifyOptions::default()).unwrap();
    assert!(!cert.certified);
    assert!(cert.pieces > 1);
}

/// f(x) = −0.5 + 2x − 0.4·ReLU(x − 1) on [0, 2], spec −1 <= y <= 1: regions A = [0, 1]
/// (f from −0.5 to 1.5, minimal patch −0.5) and B = [1, 2] (f from 1.5 to 3.1, −2.1).
fn two_adjacent_patches(radius: f64) -> (Network, [LinearRegion; 2], Vec<PatchNetwork>, Spec) {
    use crate::network::Layer;
    let net = Network::new(vec![
        Layer { n_in: 1, n_out: 2, w: vec![1.0, 1.0], b: vec![0.0, -1.0], relu: true },
        Layer { n_in: 2, n_out: 1, w: vec![2.0, -0.4], b: vec![-0.5], relu: false },
    ])
    .unwrap();
    let (lo, hi) = ([0.0], [2.0]);
    let a = LinearRegion::of_point(&net, &[0.5], &lo, &hi).unwrap();
    let b = LinearRegion::of_point(&net, &[1.5], &lo, &hi).unwrap();
    let spec = Spec::new(1, vec![1.0, -1.0], vec![1.0, 1.0]).unwrap();
    let patches: Vec<PatchNetwork> = [&a, &b]
        .iter()
        .map(|r| {
            let mp = minimal_patch(r, &spec).unwrap();
            let (ra, rb) = r.support_rows(1e-9, true).unwrap();
            PatchNetwork::constant(Support::new(1, ra, rb, radius).unwrap(), d_of(&mp)).unwrap()
        })
        .collect();
    assert!((patches[0].map.d()[0] + 0.5).abs() < 1e-12 && (patches[1].map.d()[0] + 2.1).abs() < 1e-12);
    (net, [a, b], patches, spec)
}

#[test]
fn chain_composition_is_sound_on_a_shared_face_where_the_sum_is_not() {
    let (net, regions, patches, spec) = two_adjacent_patches(0.1);
    let mut sum = RepairedNetwork::new(net.clone());
    let mut chain = RepairedNetwork::new(net);
    for p in &patches {
        sum.add_patch(p.clone()).unwrap();
        chain.add_patch(p.clone()).unwrap();
    }
    chain.chain = true;
    // The sum adds both patches on the face x = 1: 1.5 − 0.5 − 2.1 = −1.1 < −1, at any radius.
    let mut y = [0.0];
    sum.forward(&[1.0], &mut y);
    assert!((y[0] + 1.1).abs() < 1e-12);
    chain.forward(&[1.0], &mut y);
    assert!((y[0] + 0.6).abs() < 1e-12, "the last patch (B) wins on its region: {}", y[0]);
    let chained = CertifyOptions { chain: true, ..CertifyOptions::default() };
    for r in &regions {
        let s = certify_region(r, &sum.patches, &spec, &CertifyOptions::default()).unwrap();
        assert!(!s.certified && s.max_violation > 0.09, "sum: {:?}", s.max_violation);
        for o in [chained, CertifyOptions { bound_helpful: false, ..chained }] {
            let c = certify_region(r, &chain.patches, &spec, &o).unwrap();
            assert!(c.certified, "chain: {} > {}", c.max_violation, c.tolerance);
        }
    }
    // Exactly modelled, region A is split where B's band starts and where its weight passes
    // A's; by convexity it takes two LPs per row (A's patch on A, B's on A's part of its band).
    let c = certify_region(&regions[0], &chain.patches, &spec, &CertifyOptions { bound_helpful: false, ..chained })
        .unwrap();
    assert_eq!(c.exact_patches, 2);
    assert!(c.pieces >= 2);
    let c = certify_region(&regions[0], &chain.patches, &spec, &chained).unwrap();
    assert_eq!((c.exact_patches, c.pieces, c.patches), (0, 2, vec![0, 1]));
    // Sampling agrees, and the chain weights are a convex combination.
    let mut w = [0.0; 2];
    for i in 0..=2000 {
        let x = [i as f64 / 1000.0];
        chain.forward(&x, &mut y);
        assert!(spec.violation(&y) <= 1e-12, "x = {}: y = {}", x[0], y[0]);
        chain.chain_weights(&x, &mut w);
        assert!((w[0] + w[1] - 1.0).abs() < 1e-12 && w.iter().all(|&v| v >= 0.0));
    }
}

#[test]
fn a_chain_patch_that_is_wrong_in_an_earlier_region_is_caught() {
    // Radius 3: B's weight is still 2/3 at x = 0, where the output is −2.07.
    let (net, regions, patches, spec) = two_adjacent_patches(3.0);
    let mut chain = RepairedNetwork::new(net);
    for p in &patches {
        chain.add_patch(p.clone()).unwrap();
    }
    chain.chain = true;
    let o = CertifyOptions { chain: true, ..CertifyOptions::default() };
    let a = certify_region(&regions[0], &chain.patches, &spec, &o).unwrap();
    assert!(!a.certified);
    let mut y = [0.0];
    chain.forward(&a.witness, &mut y);
    assert!(spec.violation(&y) > 0.0 && (spec.violation(&y) - a.witness_value).abs() < 1e-9);
    assert!(certify_region(&regions[1], &chain.patches, &spec, &o).unwrap().certified);
    // Reversed order: B's region gets A's patch mixed in near the face, and B is the one caught.
    let mut rev = RepairedNetwork::new(chain.original.clone());
    rev.add_patch(patches[1].clone()).unwrap();
    rev.add_patch(patches[0].clone()).unwrap();
    rev.chain = true;
    assert!(certify_region(&regions[0], &rev.patches, &spec, &o).unwrap().certified);
    assert!(!certify_region(&regions[1], &rev.patches, &spec, &o).unwrap().certified);
}

#[test]
fn cells_that_tile_a_region_stand_in_for_its_patch() {
    // f(x) = 2x on [0, 1] (one region), spec −0.6 <= y <= 0.6: f varies by 2, so no constant
    // patch exists on the region; two cells [0, ½] and [½, 1] get constant patches valid on
    // their cells relaxed by r (d = −0.44 and −1.4).
    use crate::network::Layer;
    let net = Network::new(vec![
        Layer { n_in: 1, n_out: 1, w: vec![1.0], b: vec![0.0], relu: true },
        Layer { n_in: 1, n_out: 1, w: vec![2.0], b: vec![0.0], relu: false },
    ])
    .unwrap();
    let region = LinearRegion::of_point(&net, &[0.5], &[0.0], &[1.0]).unwrap();
    let spec = Spec::new(1, vec![1.0, -1.0], vec![0.6, 0.6]).unwrap();
    assert!(minimal_patch(&region, &spec).unwrap().constant.is_none(), "no constant patch on the whole region");
    let (ra, rb) = region.support_rows(1e-9, true).unwrap();
    let cell = |cut: (f64, f64), d: f64| {
        let (mut a, mut b) = (ra.clone(), rb.clone());
        a.push(cut.0);
        b.push(cut.1);
        PatchNetwork::constant(Support::new(1, a, b, 0.02).unwrap(), vec![d]).unwrap()
    };
    let left = cell((1.0, 0.5), -0.44); // x <= ½
    let right = cell((-1.0, -0.5), -1.4); // x >= ½
    let o = CertifyOptions { chain: true, ..CertifyOptions::default() };
    for order in [[&left, &right], [&right, &left]] {
        let mut rep = RepairedNetwork::new(net.clone());
        for p in order {
            rep.add_patch(p.clone()).unwrap();
        }
        rep.chain = true;
        let c = certify_region(&region, &rep.patches, &spec, &o).unwrap();
        assert!(c.certified, "{} > {}", c.max_violation, c.tolerance);
        assert_eq!((c.exact_patches, c.pieces), (0, 2));
        let mut y = [0.0];
        for i in 0..=1000 {
            rep.forward(&[i as f64 / 1000.0], &mut y);
            assert!(spec.violation(&y) <= 1e-12, "x = {}: {}", i as f64 / 1000.0, y[0]);
        }
    }
    // One cell alone does not cover the region: no tiling, and the region fails.
    let c = certify_region(&region, std::slice::from_ref(&left), &spec, &o).unwrap();
    assert!(!c.certified);
    // Overlapping cells cover it too (every point has a cell with support 1, which the chain
    // mixes only with later patches); cells with a gap of 1e-12 between them do not.
    let rows = RowSet::of_region(&region, &region.b, &[]);
    let wide = cell((1.0, 0.75), -0.44);
    assert_eq!(tiling_cells(&[wide, right.clone()], &rows, 1, &[0.0], &[1.0]), vec![0, 1]);
    let short = cell((1.0, 0.5 - 1e-12), -0.44);
    assert!(tiling_cells(&[short, right], &rows, 1, &[0.0], &[1.0]).is_empty());
}

/// The cheap apart test of a band (`Frame::apart`, one LP on the region's own simplex) and the
/// pruned band rows (`Frame::band_rows`), against sampling: wherever `apart` says a patch's band
/// misses a region, the patch's support is exactly 0 at every sampled point of the region, and
/// the band LP over the pruned rows reaches wherever the LP over every support row does. (Apart
/// is stronger than "the band misses the region": g = 0 also where several rows are partly
/// violated, so it may hold on a region the band reaches.)
#[test]
fn a_band_proven_apart_is_zero_on_the_whole_region() {
    let mut apart = 0;
    let mut reach = 0;
    for seed in [3u64, 4] {
        let (net, regions, rep, spec, _) = repaired_area(seed, 0.05);
        let safe = SafeSet::convex(spec.clone());
        let mut rng = Rng(seed + 100);
        let samples: Vec<Vec<f64>> = (0..6_000).map(|_| vec![rng.range(-1.0, 1.0), rng.range(-1.0, 1.0)]).collect();
        let patterns: Vec<Vec<u8>> = samples.iter().map(|x| net.pattern(x)).collect();
        for region in &regions {
            let target = target::Target::exact(region.clone(), safe.rows());
            let mut frame = frame::Frame::new(&target, &safe, None, &CertifyOptions::default()).unwrap();
            let inside: Vec<&Vec<f64>> =
                samples.iter().zip(&patterns).filter(|(_, p)| **p == region.pattern).map(|(x, _)| x).collect();
            for p in &rep.patches {
                let touched = inside.iter().any(|x| p.support.value(x) != 0.0);
                let by_all_rows = band::band_reaches(
                    2,
                    &p.support.dense_rows(),
                    &p.support.b.iter().map(|b| b + p.support.radius).collect::<Vec<_>>(),
                    p.support.radius,
                    &frame.bp.a,
                    &frame.bp.b,
                    &frame.bp.lower,
                    &frame.bp.upper,
                )
                .unwrap();
                if frame.apart(p).unwrap() {
                    apart += 1;
                    assert!(!touched, "seed {}: a band proven apart has support > 0 in the region", seed);
                } else {
                    let (a, b) = frame.band_rows(p);
                    let pruned = band::band_reaches(
                        2,
                        &a,
                        &b,
                        p.support.radius,
                        &frame.bp.a,
                        &frame.bp.b,
                        &frame.bp.lower,
                        &frame.bp.upper,
                    )
                    .unwrap();
                    assert!(
                        pruned || !by_all_rows,
                        "seed {}: the pruned band LP misses a band the full one reaches",
                        seed
                    );
                    assert!(pruned || !touched, "seed {}: the pruned band LP misses a band with support > 0", seed);
                    if touched {
                        reach += 1;
                    }
                }
            }
        }
    }
    // Both outcomes happen (the test can fail either way).
    assert!(apart > 10 && reach > 10, "apart {} reach {}", apart, reach);
}
