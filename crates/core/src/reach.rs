//! Which patch bands can reach which points and regions, for point-wise repair at scale (issue
//! 14): the two core pieces of its index (`ts/reach.ts`).
//!
//! * [`max_unless_below`]: a certified upper bound on max c·x over a region that stops as soon
//!   as it is below a threshold. With c·x − b the summed rows of some first-layer neurons of a
//!   region (b − c·x its summed slack), a patch of another region whose support has the same
//!   hyperplanes with the other orientation has at least that excess on the whole region, so its
//!   band cannot reach the region once the bound proves the slack >= its radius (`patch.rs`:
//!   g_A = 0 wherever Σ_i (a_i·x − b_i)⁺ >= r).
//! * [`forward_at`]: the repaired network at points through a given subset of its patches, bit
//!   for bit [`RepairedNetwork::forward`] whenever every other patch's support is 0 there (a patch
//!   with support 0 adds nothing in either composition), so that checking N points against P
//!   patches costs what the candidates cost, not N × P.

use crate::error::{invalid, lp_context, Result};
use crate::patch::PatchMap;
use crate::region::LinearRegion;
use crate::repaired::RepairedNetwork;

/// A certified upper bound on max over the region of c·x: as soon as a cold dual simplex (whose
/// bound only decreases) proves it <= `threshold`, that bound; otherwise the upper bound of the
/// exact maximum (then above the threshold).
pub fn max_unless_below(region: &LinearRegion, c: &[f64], threshold: f64) -> Result<f64> {
    if c.len() != region.n_in {
        return invalid(format!("bound below: {} coefficients for {} inputs", c.len(), region.n_in));
    }
    if let Some(j) = c.iter().position(|v| !v.is_finite()) {
        return invalid(format!("bound below: coefficient {} is {}", j, c[j]));
    }
    if !threshold.is_finite() {
        return invalid(format!("bound below: threshold {} is not finite", threshold));
    }
    let mut sx = region.simplex();
    match sx
        .maximize_unless_below(c, threshold)
        .map_err(lp_context(|| "bound of a band's slack over a region".to_string()))?
    {
        Err(bound) => Ok(bound),
        Ok(sol) => Ok(sol.upper),
    }
}

/// [`RepairedNetwork::forward`] at `count` points through the patches `candidates[off[p]..off[p +
/// 1]]` for point p (indices into `rep.patches`, increasing). Equal to the full forward pass bit
/// for bit when every other patch has support 0 at its point.
pub fn forward_at(
    rep: &RepairedNetwork,
    xs: &[f64],
    count: usize,
    off: &[usize],
    candidates: &[usize],
    out: &mut [f64],
) -> Result<()> {
    let (ni, no) = (rep.original.n_in(), rep.original.n_out());
    if xs.len() != count * ni || out.len() != count * no || off.len() != count + 1 || off[count] != candidates.len() {
        return invalid(format!(
            "forward at points: {} values for {} points of {} inputs, {} offsets for {} candidates",
            xs.len(),
            count,
            ni,
            off.len(),
            candidates.len()
        ));
    }
    if off[0] != 0 || off.windows(2).any(|w| w[0] > w[1]) {
        return invalid("forward at points: candidate offsets must start at 0 and not decrease".to_string());
    }
    for p in 0..count {
        let cands = &candidates[off[p]..off[p + 1]];
        if cands.windows(2).any(|w| w[0] >= w[1]) || cands.iter().any(|&j| j >= rep.patches.len()) {
            return invalid(format!(
                "forward at points: the candidates of point {} are not increasing patch indices",
                p
            ));
        }
        let x = &xs[p * ni..(p + 1) * ni];
        let y = &mut out[p * no..(p + 1) * no];
        rep.original.forward(x, y);
        let gate = rep.box_gate.as_ref().map_or(1.0, |b| b.value(x));
        if gate == 0.0 || cands.is_empty() {
            continue;
        }
        // The same order of operations as RepairedNetwork::forward: sum patches in order, then
        // the chain of constant patches from the last back.
        for &j in cands {
            let pn = &rep.patches[j];
            if !rep.chain || !pn.map.is_constant() {
                pn.add_gated(x, gate, y);
            }
        }
        if !rep.chain {
            continue;
        }
        let mut u: f64 = 0.0;
        for &j in cands.iter().rev() {
            if let PatchMap::Constant(c) = &rep.patches[j].map {
                let g = rep.patches[j].support.value_gated(x, gate);
                let w = g - u;
                if w > 0.0 {
                    u += w;
                    for (yj, dj) in y.iter_mut().zip(&c.d) {
                        *yj += dj * w;
                    }
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gate::BoxGate;
    use crate::minimal::minimal_patch;
    use crate::network::tests::{random_network, Rng};
    use crate::patch::{ConstantPatch, PatchNetwork, Support};
    use crate::spec::Spec;

    #[test]
    fn bounds_are_certified_upper_bounds_of_the_maximum_and_exact_above_the_threshold() {
        let mut rng = Rng(61);
        let mut early = 0;
        for t in 0..10 {
            let net = random_network(&mut rng, &[4, 12, 8, 3]);
            let x0: Vec<f64> = (0..4).map(|_| rng.range(-0.8, 0.8)).collect();
            let r = LinearRegion::of_point(&net, &x0, &[-1.0; 4], &[1.0; 4]).unwrap();
            // The summed rows of some neurons, as a band test uses them.
            let mut c = vec![0.0; 4];
            for i in (0..r.rows()).step_by(3) {
                for j in 0..4 {
                    c[j] += r.a[i * 4 + j];
                }
            }
            let exact = r.simplex().maximize(&c).unwrap();
            for threshold in [exact.upper + 0.5, exact.upper + 1e-3, exact.lower - 0.1] {
                let u = max_unless_below(&r, &c, threshold).unwrap();
                assert!(u >= exact.lower - 1e-12, "case {}: bound {} below the maximum {}", t, u, exact.lower);
                if u <= threshold {
                    early += 1;
                } else {
                    assert!((u - exact.upper).abs() <= 1e-9, "case {}: {} vs {}", t, u, exact.upper);
                    assert!(threshold < exact.upper, "case {}: stopped above a threshold the maximum is below", t);
                }
                // Every sampled point of the region stays below the bound.
                for _ in 0..200 {
                    let x: Vec<f64> = (0..4).map(|_| rng.range(-1.0, 1.0)).collect();
                    if r.violation(&x) <= 0.0 {
                        assert!(crate::linalg::dot(&c, &x) <= u + 1e-12);
                    }
                }
            }
        }
        assert!(early >= 10, "{}", early);
        let r =
            LinearRegion::of_point(&random_network(&mut rng, &[2, 3, 1]), &[0.0, 0.0], &[-1.0; 2], &[1.0; 2]).unwrap();
        assert!(max_unless_below(&r, &[1.0], 0.0).is_err());
        assert!(max_unless_below(&r, &[1.0, f64::NAN], 0.0).is_err());
    }

    #[test]
    fn forward_through_candidates_equals_the_full_forward_where_the_others_vanish() {
        let mut rng = Rng(62);
        let net = random_network(&mut rng, &[3, 10, 10, 4]);
        let (lo, hi) = ([-1.0; 3], [1.0; 3]);
        let mut rep = RepairedNetwork::new(net.clone());
        rep.chain = true;
        rep.set_box_gate(BoxGate { lower: lo.to_vec(), upper: hi.to_vec(), radius: 0.05 }).unwrap();
        let anchors: Vec<Vec<f64>> = (0..6).map(|_| (0..3).map(|_| rng.range(-0.9, 0.9)).collect()).collect();
        for x0 in &anchors {
            let r = LinearRegion::of_point(&net, x0, &lo, &hi).unwrap();
            let mp = minimal_patch(&r, &Spec::label(4, 1, 0.0).unwrap()).unwrap();
            let d = mp.constant.unwrap_or(ConstantPatch { d: vec![0.5; 4] }).d;
            let support = Support::new(3, r.a.clone(), r.b.clone(), 0.05).unwrap();
            rep.add_patch(PatchNetwork::new(support, PatchMap::Constant(ConstantPatch { d })).unwrap()).unwrap();
        }
        let pts: Vec<f64> = (0..300 * 3).map(|_| rng.range(-1.05, 1.05)).collect();
        let mut full = vec![0.0; 300 * 4];
        rep.forward_batch(&pts, 300, &mut full);
        // Candidates: exactly the patches whose support is non-zero at each point.
        let (mut off, mut cands) = (vec![0], Vec::new());
        let mut nonzero = 0;
        for p in 0..300 {
            for (j, pn) in rep.patches.iter().enumerate() {
                let gate = rep.box_gate.as_ref().unwrap().value(&pts[p * 3..(p + 1) * 3]);
                if pn.support.value_gated(&pts[p * 3..(p + 1) * 3], gate) > 0.0 {
                    cands.push(j);
                }
            }
            nonzero += cands.len() - off[p];
            off.push(cands.len());
        }
        assert!(nonzero > 20, "{}", nonzero);
        let mut at = vec![0.0; 300 * 4];
        forward_at(&rep, &pts, 300, &off, &cands, &mut at).unwrap();
        assert!(full.iter().zip(&at).all(|(a, b)| a.to_bits() == b.to_bits()));
        // Dropping a patch whose support is not 0 changes the output somewhere: the test can fail.
        let p = (0..300).find(|&p| off[p + 1] > off[p]).unwrap();
        let (mut off2, mut cands2) = (off.clone(), cands.clone());
        cands2.remove(off[p]);
        for o in off2.iter_mut().skip(p + 1) {
            *o -= 1;
        }
        forward_at(&rep, &pts, 300, &off2, &cands2, &mut at).unwrap();
        assert!(full.iter().zip(&at).any(|(a, b)| a.to_bits() != b.to_bits()));
        // Candidates out of order are refused.
        assert!(forward_at(&rep, &pts[..3], 1, &[0, 2], &[1, 0], &mut at[..4]).is_err());
    }
}
