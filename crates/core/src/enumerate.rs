//! Every linear region of a network inside a box or H-polytope (area repair, METHOD.md §1): the
//! network as a [`ReluProgram`] explored piece by piece (`explore.rs`); each piece is one
//! activation pattern. No piece is dropped, so the regions cover the area: a piece whose largest
//! inscribed ball is thinner than `min_radius` is still a region, flagged `thin`, and every
//! region carries the decision errors of its piece (`slack`: how far, in pre-activation units,
//! the piece reaches across a hyperplane it was not split by), which the certificate charges.

use crate::error::{invalid, Error, Result};
use crate::explore::{ExploreOptions, Explorer, DECISION_RTOL};
use crate::network::Network;
use crate::polytope::chebyshev;
use crate::program::ReluProgram;
use crate::region::check_box;

/// Options of [`RegionEnumerator`].
#[derive(Debug, Clone, Copy)]
pub struct EnumerateOptions {
    /// Decision slack (input units), see [`ExploreOptions::eps`]; the reach it lets a region
    /// absorb is charged as the region's `slack`.
    pub eps: f64,
    /// Regions whose largest inscribed ball has a radius <= this are flagged `thin` (their
    /// centre may lie on their boundary). Must be >= eps.
    pub min_radius: f64,
    /// Stop with [`Step::Limit`] rather than store more regions than this.
    pub max_regions: usize,
}

/// Result of one [`RegionEnumerator::step`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// The budget ran out; call again.
    More,
    /// Every region has been found.
    Done,
    /// The region count passed `max_regions`; nothing more is stored.
    Limit,
}

/// Every linear region of a network inside a box, optionally intersected with an H-polytope.
pub struct RegionEnumerator {
    explorer: Explorer,
    opts: EnumerateOptions,
    n_in: usize,
    /// Program neuron index of each pattern position.
    relu_neurons: Vec<usize>,
    /// Activation patterns, `hidden` bytes per region.
    pub patterns: Vec<u8>,
    /// Chebyshev centre (n_in values) and radius of each region (−1 when the LP cannot place a
    /// ball: the centre is then the middle of the region's bounding box).
    pub centres: Vec<f64>,
    pub radii: Vec<f64>,
    /// Per region, `hidden` values: the decision error of each neuron on the region's piece
    /// (pre-activation units; 0 where the sign was exact).
    pub slack: Vec<f64>,
    /// Per region: thinner than `min_radius`.
    pub thin_flags: Vec<bool>,
    /// Regions flagged thin.
    pub thin: usize,
    state: Step,
}

impl RegionEnumerator {
    /// `a`, `b`: an optional input polytope {x : a x <= b} (row-major `m × n_in`, any scaling).
    pub fn new(
        net: &Network,
        lower: &[f64],
        upper: &[f64],
        a: &[f64],
        b: &[f64],
        opts: EnumerateOptions,
    ) -> Result<RegionEnumerator> {
        let n = net.n_in();
        check_box(n, lower, upper)?;
        let (na, nb, _) = crate::region::normalise_rows(n, a, b)?;
        if !(opts.min_radius.is_finite() && opts.min_radius >= opts.eps) {
            return invalid(format!(
                "enumeration: minimum radius {} must be finite and >= eps ({})",
                opts.min_radius, opts.eps
            ));
        }
        if opts.max_regions == 0 {
            return invalid("enumeration: the region limit must be at least 1".to_string());
        }
        let program = ReluProgram::from_network(net);
        let relu_neurons = (0..program.neurons.len()).filter(|&k| program.neurons[k].relu).collect();
        let explorer = Explorer::new(
            program,
            na,
            nb,
            lower.to_vec(),
            upper.to_vec(),
            ExploreOptions { eps: opts.eps, rtol: DECISION_RTOL },
        )?;
        Ok(RegionEnumerator {
            explorer,
            opts,
            n_in: n,
            relu_neurons,
            patterns: Vec::new(),
            centres: Vec::new(),
            radii: Vec::new(),
            slack: Vec::new(),
            thin_flags: Vec::new(),
            thin: 0,
            state: Step::More,
        })
    }

    pub fn count(&self) -> usize {
        self.radii.len()
    }

    pub fn hidden(&self) -> usize {
        self.relu_neurons.len()
    }

    pub fn lps(&self) -> usize {
        self.explorer.lps
    }

    pub fn pending(&self) -> usize {
        self.explorer.pending()
    }

    /// The whole area was found empty by the LP (no region at all).
    pub fn empty(&self) -> usize {
        self.explorer.empty
    }

    /// Sign decisions the LP could not make (made on bounding boxes, their reach charged).
    pub fn forced(&self) -> usize {
        self.explorer.forced
    }

    /// Estimated explored share of the input set, in [0, 1].
    pub fn progress(&self) -> f64 {
        self.explorer.explored.min(1.0)
    }

    /// Works until about `max_lps` more LPs have been solved, or the enumeration ends.
    pub fn step(&mut self, max_lps: usize) -> Result<Step> {
        if self.state != Step::More {
            return Ok(self.state);
        }
        let start = self.explorer.lps;
        while self.explorer.lps - start < max_lps.max(1) {
            let piece = match self.explorer.next_piece()? {
                Some(p) => p,
                None => {
                    self.state = Step::Done;
                    return Ok(Step::Done);
                }
            };
            let (centre, radius) = match chebyshev(self.n_in, &piece.a, &piece.b, &piece.lower, &piece.upper) {
                Ok(c) => c,
                Err(Error::Lp(_)) | Err(Error::Empty(_)) => {
                    let mid = (0..self.n_in).map(|j| 0.5 * piece.lower[j] + 0.5 * piece.upper[j]).collect();
                    (mid, -1.0)
                }
                Err(e) => return Err(e),
            };
            self.explorer.lps += 1;
            if self.count() >= self.opts.max_regions {
                self.state = Step::Limit;
                return Ok(Step::Limit);
            }
            let thin = !(radius > self.opts.min_radius);
            self.thin += thin as usize;
            self.thin_flags.push(thin);
            self.patterns.extend(self.relu_neurons.iter().map(|&k| piece.states[k]));
            self.slack.extend(self.relu_neurons.iter().map(|&k| piece.err[k]));
            self.centres.extend_from_slice(&centre);
            self.radii.push(radius);
        }
        Ok(Step::More)
    }

    /// Runs to the end (or the limit).
    pub fn run(&mut self) -> Result<Step> {
        loop {
            match self.step(1 << 20)? {
                Step::More => continue,
                s => return Ok(s),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::network::tests::{random_network, Rng};
    use crate::region::LinearRegion;
    use std::collections::HashMap;

    fn opts() -> EnumerateOptions {
        EnumerateOptions { eps: 1e-9, min_radius: 1e-9, max_regions: 100_000 }
    }

    #[test]
    fn regions_cover_the_box_and_have_consistent_patterns() {
        let mut rng = Rng(31);
        for trial in 0..6 {
            let net = random_network(&mut rng, &[2, 8, 8, 3]);
            let lo = [-1.0, -1.5];
            let hi = [1.5, 1.0];
            let mut en = RegionEnumerator::new(&net, &lo, &hi, &[], &[], opts()).unwrap();
            assert_eq!(en.run().unwrap(), Step::Done);
            let h = en.hidden();
            let count = en.count();
            assert!(count > 1, "trial {}", trial);
            assert!((en.progress() - 1.0).abs() < 1e-9, "progress {}", en.progress());
            let mut index = HashMap::new();
            for r in 0..count {
                let pat = en.patterns[r * h..(r + 1) * h].to_vec();
                // The centre lies strictly inside: the forward pass gives the same pattern.
                let c = &en.centres[r * 2..(r + 1) * 2];
                assert_eq!(net.pattern(c), pat, "trial {} region {}", trial, r);
                assert!(en.radii[r] > 1e-9);
                assert!(index.insert(pat, r).is_none(), "duplicate pattern");
            }
            // Every sampled point's pattern is one of the regions (a missed region of any
            // noticeable area would be hit).
            for _ in 0..4000 {
                let x = [rng.range(lo[0], hi[0]), rng.range(lo[1], hi[1])];
                assert!(index.contains_key(&net.pattern(&x)), "trial {}: point {:?} in no enumerated region", trial, x);
            }
            // Areas add up to the box (Monte Carlo per region is too noisy; use the regions'
            // H-representations: every sample lies in exactly one region's closure set).
            for _ in 0..500 {
                let x = [rng.range(lo[0], hi[0]), rng.range(lo[1], hi[1])];
                let mut inside = 0;
                for r in 0..count {
                    let reg =
                        LinearRegion::of_pattern(&net, en.patterns[r * h..(r + 1) * h].to_vec(), &lo, &hi).unwrap();
                    if reg.violation(&x) <= 1e-12 {
                        inside += 1;
                    }
                }
                assert!(inside >= 1, "point {:?} in no region", x);
            }
        }
    }

    #[test]
    fn h_polytope_restricts_the_regions() {
        let mut rng = Rng(8);
        let net = random_network(&mut rng, &[2, 10, 3]);
        let lo = [-1.0, -1.0];
        let hi = [1.0, 1.0];
        let mut all = RegionEnumerator::new(&net, &lo, &hi, &[], &[], opts()).unwrap();
        all.run().unwrap();
        // Triangle x0 >= -1, x1 >= -1, x0 + x1 <= 0 (the last row unnormalised).
        let mut tri = RegionEnumerator::new(&net, &lo, &hi, &[3.0, 3.0], &[0.0], opts()).unwrap();
        tri.run().unwrap();
        assert!(tri.count() <= all.count() && tri.count() >= 1);
        let h = tri.hidden();
        for r in 0..tri.count() {
            let c = &tri.centres[r * 2..(r + 1) * 2];
            assert!(c[0] + c[1] < 0.0);
            let pat = &tri.patterns[r * h..(r + 1) * h];
            assert!((0..all.count()).any(|q| &all.patterns[q * h..(q + 1) * h] == pat));
        }
        for _ in 0..3000 {
            let x = [rng.range(-1.0, 1.0), rng.range(-1.0, 1.0)];
            if x[0] + x[1] < -1e-6 {
                let p = net.pattern(&x);
                assert!((0..tri.count()).any(|q| tri.patterns[q * h..(q + 1) * h] == p[..]));
            }
        }
    }

    #[test]
    fn linear_hidden_layers_relu_outputs_and_no_hidden_layer() {
        let mut rng = Rng(21);
        let lo = [-1.0, -1.0];
        let hi = [1.0, 1.0];
        // 2 -> 6 (relu) -> 4 (linear) -> 5 (relu) -> 3 (relu output).
        let mut layers = random_network(&mut rng, &[2, 6, 4, 5, 3]).dense_layers().unwrap().to_vec();
        layers[1].relu = false;
        layers[3].relu = true;
        let net = Network::new(layers).unwrap();
        assert_eq!(net.hidden_count(), 14);
        let mut en = RegionEnumerator::new(&net, &lo, &hi, &[], &[], opts()).unwrap();
        assert_eq!(en.run().unwrap(), Step::Done);
        let h = en.hidden();
        assert_eq!(h, 14);
        let pats: Vec<Vec<u8>> = (0..en.count()).map(|r| en.patterns[r * h..(r + 1) * h].to_vec()).collect();
        for (r, p) in pats.iter().enumerate() {
            assert_eq!(&net.pattern(&en.centres[r * 2..(r + 1) * 2]), p);
            // The program's map agrees with the region's affine map at the centre.
            let reg = LinearRegion::of_pattern(&net, p.clone(), &lo, &hi).unwrap();
            let c = &en.centres[r * 2..(r + 1) * 2];
            let (mut y, mut ya) = (vec![0.0; 3], vec![0.0; 3]);
            net.forward(c, &mut y);
            reg.affine(c, &mut ya);
            for o in 0..3 {
                assert!((y[o] - ya[o]).abs() < 1e-12 * (1.0 + y[o].abs()));
            }
        }
        for _ in 0..2000 {
            let x = [rng.range(-1.0, 1.0), rng.range(-1.0, 1.0)];
            assert!(pats.contains(&net.pattern(&x)));
        }
        // No hidden layer: one region, the box.
        let lin = random_network(&mut rng, &[2, 3]);
        let mut en = RegionEnumerator::new(&lin, &lo, &hi, &[], &[], opts()).unwrap();
        assert_eq!(en.run().unwrap(), Step::Done);
        assert_eq!(en.count(), 1);
        assert!((en.radii[0] - 1.0).abs() < 1e-9);
    }

    #[test]
    fn the_region_limit_stops_the_enumeration() {
        let mut rng = Rng(5);
        let net = random_network(&mut rng, &[2, 12, 12, 2]);
        let mut o = opts();
        o.max_regions = 3;
        let mut en = RegionEnumerator::new(&net, &[-1.0, -1.0], &[1.0, 1.0], &[], &[], o).unwrap();
        assert_eq!(en.run().unwrap(), Step::Limit);
        assert_eq!(en.count(), 3);
        assert!(en.pending() <= net.hidden_count() + 1);
        o.max_regions = 0;
        assert!(RegionEnumerator::new(&net, &[-1.0, -1.0], &[1.0, 1.0], &[], &[], o).is_err());
    }

    #[test]
    fn stepping_with_small_budgets_gives_the_same_regions() {
        let mut rng = Rng(12);
        let net = random_network(&mut rng, &[3, 6, 6, 2]);
        let lo = [-1.0; 3];
        let hi = [1.0; 3];
        let mut a = RegionEnumerator::new(&net, &lo, &hi, &[], &[], opts()).unwrap();
        a.run().unwrap();
        let mut b = RegionEnumerator::new(&net, &lo, &hi, &[], &[], opts()).unwrap();
        let mut steps = 0;
        let mut last = 0.0;
        while b.step(5).unwrap() == Step::More {
            assert!(b.progress() >= last);
            last = b.progress();
            steps += 1;
        }
        assert!(steps > 3);
        assert_eq!(a.patterns, b.patterns);
        assert_eq!(a.count(), b.count());
    }

    #[test]
    fn a_flat_box_dimension_is_a_lower_dimensional_area_not_a_hang() {
        // lower == upper in input 1: every region is flat (thin), and the LPs must not cycle on
        // the fixed variable (they did: a bound flip onto the same bound, forever).
        let mut rng = Rng(4);
        let net = random_network(&mut rng, &[3, 6, 6, 2]);
        let (lo, hi) = ([-1.0, 0.25, -1.0], [1.0, 0.25, 1.0]);
        let mut en = RegionEnumerator::new(&net, &lo, &hi, &[], &[], opts()).unwrap();
        assert_eq!(en.run().unwrap(), Step::Done);
        assert!(en.count() > 1);
        assert_eq!(en.thin, en.count(), "every region of a flat area is thin");
        let h = en.hidden();
        for _ in 0..500 {
            let x = [rng.range(-1.0, 1.0), 0.25, rng.range(-1.0, 1.0)];
            let p = net.pattern(&x);
            assert!((0..en.count()).any(|q| en.patterns[q * h..(q + 1) * h] == p[..]), "{:?} in no region", x);
        }
    }
}
