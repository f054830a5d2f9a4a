//! A certifier for one repaired network, one safe set and one area: the certificate of any
//! linear region of the original network in the area, from the saved parameters alone.
//!
//! Per region it rebuilds the region from its activation pattern (`LinearRegion::of_pattern`),
//! relaxes it by the decision errors the enumeration handed on (`target.rs`), certifies it
//! (`certify_target`), and finally evaluates the repaired network itself at the certificate's
//! witness: a violation found there beyond the tolerance makes the region not certified, so a
//! certified region never comes with a real violation above its tolerance. LP breakdowns and
//! piece limits are verdicts ("not certified", with the reason), never a failure of the whole
//! certification.

use super::band::{band_box, BandBox};
use super::certify_target;
use super::options::CertifyOptions;
use super::region_certificate::{Reason, RegionCertificate};
use super::safe_set::SafeSet;
use super::target::{DualHint, Target};
use crate::error::{invalid, Error, Result};
use crate::program::ReluProgram;
use crate::region::{check_box, LinearRegion};
use crate::repaired::RepairedNetwork;

pub struct Certifier {
    pub rep: RepairedNetwork,
    pub safe: SafeSet,
    pub lower: Vec<f64>,
    pub upper: Vec<f64>,
    set_a: Vec<f64>,
    set_b: Vec<f64>,
    pub opts: CertifyOptions,
    /// Bounding boxes of the patch bands, computed at the first region.
    bands: Option<Vec<Option<BandBox>>>,
    /// Sensitivities of the stacked spec rows in the original network's neurons
    /// (program neurons × rows), and the program neuron of each pattern position: only a
    /// relaxed region (some slack > 0) reads them, so they are computed at the first one (for a
    /// CNN the program has one neuron per activation element: building it costs as much as a
    /// region).
    sens: Option<(Vec<f64>, Vec<usize>)>,
    /// Regions whose certificate over a hinted superset was not proven and was decided again on
    /// the region itself ([`Certifier::region_with_hint`]).
    pub hint_refusals: usize,
}

impl Certifier {
    /// `opts.chain` is taken from the repaired network.
    pub fn new(
        rep: RepairedNetwork,
        safe: SafeSet,
        lower: Vec<f64>,
        upper: Vec<f64>,
        set_a: Vec<f64>,
        set_b: Vec<f64>,
        opts: CertifyOptions,
    ) -> Result<Certifier> {
        let (n, k) = (rep.original.n_in(), rep.original.n_out());
        check_box(n, &lower, &upper)?;
        if set_a.len() != set_b.len() * n {
            return invalid(format!(
                "certificate: the input set has {} coefficients for {} rows",
                set_a.len(),
                set_b.len()
            ));
        }
        if safe.k != k {
            return invalid(format!("certificate: the spec has {} outputs, the network has {}", safe.k, k));
        }
        opts.check()?;
        let opts = CertifyOptions { chain: rep.chain, ..opts };
        Ok(Certifier { rep, safe, lower, upper, set_a, set_b, opts, bands: None, sens: None, hint_refusals: 0 })
    }

    /// The certificate of the region of `pattern` (one 0/1 per hidden neuron), relaxed by `slack`
    /// (per hidden neuron, pre-activation units; empty: exact), the union piece `preferred`
    /// tried first.
    pub fn region(&mut self, pattern: &[u8], slack: &[f64], preferred: Option<usize>) -> Result<RegionCertificate> {
        self.region_with_hint(pattern, slack, preferred, None)
    }

    /// [`Certifier::region`] with an untrusted hint: `hint` lists the hidden neurons whose rows
    /// the repair kept (those the others and the box do not imply), so that the certificate can
    /// skip the implied-row tests, the largest part of building a convolutional network's region.
    ///
    /// Why a hint cannot make a false certificate: the certificate is first proven over the
    /// polytope of the hinted rows only ([`LinearRegion::of_pattern_rows`]). Each of those rows is
    /// recomputed here from the original network and the pattern (as are the local affine map
    /// and the box), never read from the repair, so the polytope contains the region whatever the
    /// hint says; a bound of P_j f̂ over a superset (f̂ on it: the region's affine map plus the
    /// patch networks, each a function of x defined everywhere) bounds it over the region, a
    /// patch whose band misses the superset misses the region, a row proven to hold on the
    /// superset (a patch's support) holds on the region. So a certified verdict stands. A hint
    /// that drops a row the region needs can only lose that proof (a larger set, larger bounds,
    /// a witness outside the region): every verdict other than certified is therefore decided
    /// again on the region itself (`of_pattern`, with its own implied-row tests), and only that
    /// verdict, its witness and its bounds are reported. Dense chains keep every row anyway (no
    /// implied-row test to skip): for them the hint is ignored.
    pub fn region_with_hint(
        &mut self,
        pattern: &[u8],
        slack: &[f64],
        preferred: Option<usize>,
        hint: Option<&[u32]>,
    ) -> Result<RegionCertificate> {
        self.region_with_hints(pattern, slack, preferred, hint, None)
    }

    /// [`Certifier::region_with_hint`] with a second untrusted hint: `duals` (stacked spec rows ×
    /// hinted neurons, row-major), the multipliers of the repair's LP of each spec row over its
    /// region on the rows of those neurons. On the hinted polytope each row's bound is first
    /// tried as the weak-duality bound of these multipliers (rows and box recomputed here, the
    /// rounding of the check included, METHOD.md §5.2); only a row it does not prove gets an LP.
    /// Any λ >= 0 gives a valid upper bound, so wrong multipliers cost an LP, never soundness.
    /// Used only with `hint` (ignored with a wrong length, and for dense chains).
    pub fn region_with_hints(
        &mut self,
        pattern: &[u8],
        slack: &[f64],
        preferred: Option<usize>,
        hint: Option<&[u32]>,
        duals: Option<&[f64]>,
    ) -> Result<RegionCertificate> {
        let hint = hint.filter(|_| self.rep.original.dense_layers().is_none());
        let rows = self.safe.rows();
        let duals = match (hint, duals) {
            (Some(neurons), Some(d)) if d.len() == rows * neurons.len() => Some(DualHint { neurons, duals: d }),
            _ => None,
        };
        let first = self.region_over_hinted(pattern, slack, preferred, hint, duals)?;
        if hint.is_none() || first.certified {
            return Ok(first);
        }
        self.hint_refusals += 1;
        let mut full = self.region_over(pattern, slack, preferred, None)?;
        full.lps += first.lps;
        Ok(full)
    }

    /// The certificate over the region of `pattern` (`rows`: None), or over the superset of it
    /// that only the rows of the neurons `rows` bound (see [`Certifier::region_with_hint`]).
    pub(crate) fn region_over(
        &mut self,
        pattern: &[u8],
        slack: &[f64],
        preferred: Option<usize>,
        rows: Option<&[u32]>,
    ) -> Result<RegionCertificate> {
        self.region_over_hinted(pattern, slack, preferred, rows, None)
    }

    /// [`Certifier::region_over`] with the multipliers hint (see [`Certifier::region_with_hints`]).
    fn region_over_hinted(
        &mut self,
        pattern: &[u8],
        slack: &[f64],
        preferred: Option<usize>,
        rows: Option<&[u32]>,
        duals: Option<DualHint>,
    ) -> Result<RegionCertificate> {
        if self.bands.is_none() {
            let boxes: Result<Vec<_>> =
                self.rep.patches.iter().map(|p| band_box(p, &self.lower, &self.upper)).collect();
            self.bands = Some(boxes?);
        }
        let net = &self.rep.original;
        let hidden = net.hidden_count();
        if pattern.len() != hidden || !(slack.is_empty() || slack.len() == hidden) {
            return invalid(format!(
                "certificate: the pattern has {} entries and the slack {}, the network has {} hidden neurons",
                pattern.len(),
                slack.len(),
                hidden
            ));
        }
        if let Some(i) = slack.iter().position(|v| !(v.is_finite() && *v >= 0.0)) {
            return invalid(format!("certificate: slack {} is {} (must be finite and >= 0)", i, slack[i]));
        }
        let mut region = match rows {
            Some(keep) => LinearRegion::of_pattern_rows(net, pattern.to_vec(), &self.lower, &self.upper, keep)?,
            None => LinearRegion::of_pattern(net, pattern.to_vec(), &self.lower, &self.upper)?,
        };
        if !self.set_b.is_empty() {
            region.intersect(&self.set_a, &self.set_b)?;
        }
        if self.sens.is_none() && slack.iter().any(|&v| v > 0.0) {
            let program = ReluProgram::from_network(net);
            let sens = program.sensitivities(&self.safe.all.p, self.safe.rows());
            let relu = (0..program.neurons.len()).filter(|&i| program.neurons[i].relu).collect();
            self.sens = Some((sens, relu));
        }
        // Without slack `Target::relaxed` reads no sensitivity.
        let (sens, relu): (&[f64], &[usize]) = match &self.sens {
            Some((s, r)) => (s, r),
            None => (&[], &[]),
        };
        let mut target = Target::relaxed(net, region, slack, sens, relu, self.safe.rows());
        target.duals = duals;
        let bands = self.bands.as_deref().unwrap_or(&[]);
        let result = certify_target(
            &target,
            &self.rep.patches,
            self.rep.box_gate.as_ref(),
            bands,
            &self.safe,
            preferred,
            &self.opts,
        );
        let mut cert = match result {
            Ok(c) => c,
            Err(Error::PieceLimit { limit }) => RegionCertificate::undecided(Vec::new(), limit, Reason::PieceLimit),
            Err(Error::Lp(_)) | Err(Error::Empty(_)) => RegionCertificate::undecided(Vec::new(), 0, Reason::Unresolved),
            Err(e) => return Err(e),
        };
        if cert.witness.len() == net.n_in() {
            let mut y = vec![0.0; net.n_out()];
            self.rep.forward(&cert.witness, &mut y);
            let v = self.safe.violation(&y);
            cert.witness_violation = Some(v);
            cert.witness_in_region = target.region.violation(&cert.witness) <= 0.0;
            if v > cert.tolerance && cert.witness_in_region {
                // A real violation in the region: never certified (with sound bounds a certified
                // region cannot get here; this is the last line of defence, and names the reason).
                cert.certified = false;
                cert.reason = Reason::Violated;
            }
        }
        Ok(cert)
    }
}
