//! The certificate of one region and its bookkeeping, shared by both tiers.

/// Why a region is not certified (`Certified` when it is).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    Certified,
    /// A proven bound exceeds its tolerance (the witness says whether a real violation was found).
    Bound,
    /// Some cell could not be resolved by the LP (a sliver at the limit of its tolerance): no bound.
    Unresolved,
    /// The region needs more pieces than the limit allows.
    PieceLimit,
    /// The union safe set needs more LPs on a piece than the limit allows.
    UnionLimit,
    /// The repaired network itself violates the spec beyond the tolerance at the witness.
    Violated,
}

#[derive(Debug, Clone, PartialEq)]
pub struct RegionCertificate {
    pub certified: bool,
    pub reason: Reason,
    /// max over pieces and spec rows of the proven bound on P_j f̂(x) − q_j (LP bound, decision
    /// budgets and rounding included; for a union, on the union's violation min_p max_{j∈p}).
    pub max_violation: f64,
    /// The absolute tolerance the bounds were compared with (largest over pieces and rows; each
    /// bound is compared with its own row's tolerance).
    pub tolerance: f64,
    /// Largest of (bound − its tolerance): <= 0 exactly when every bound holds.
    pub excess: f64,
    /// Largest rounding allowance added to a bound.
    pub rounding: f64,
    /// Largest |P_j f(x) − q_j| over the region's box (the scale of the rows' values).
    pub scale: f64,
    /// Pieces the region was split into (ReLU states of the relevant patches fixed on each); in
    /// the convex tier, the candidate patches bounded.
    pub pieces: usize,
    /// Cells or LPs the LP could not resolve; a region with any is not certified.
    pub empty_pieces: usize,
    pub lps: usize,
    /// Indices of the patches whose band reaches the region: first the `exact_patches` modelled
    /// exactly (their band reaches the region, by LP), then constant patches with P_j·d <= 0 on
    /// every spec row whose band box meets the region's, which can only lower every row (bounded
    /// by 0, i.e. left out).
    pub patches: Vec<usize>,
    /// How many of `patches` (the first ones) are modelled exactly.
    pub exact_patches: usize,
    /// Spec row (stacked over the pieces of a union) of `max_violation`.
    pub worst_row: usize,
    /// A point of the region where the piece map attains its largest violation, and that value
    /// (empty and −inf when no LP was solved).
    pub witness: Vec<f64>,
    pub witness_value: f64,
    /// Largest decision error budget added to a bound.
    pub error_budget: f64,
    /// For a union safe set certified by one piece (convex tier): that piece.
    pub spec_piece: Option<usize>,
    /// The repaired network's own violation at the witness (forward pass), when evaluated.
    pub witness_violation: Option<f64>,
    /// The witness lies in the certified region (its rows, box and input set, checked in f64):
    /// LP points can lie outside it by the LP's feasibility tolerance, where another region's
    /// behaviour holds.
    pub witness_in_region: bool,
}

impl RegionCertificate {
    /// Nothing proven yet: no bound, no witness; `patches` relevant, the first `exact_patches`
    /// of them modelled exactly.
    pub(super) fn open(patches: Vec<usize>, exact_patches: usize) -> RegionCertificate {
        RegionCertificate {
            certified: false,
            reason: Reason::Bound,
            max_violation: f64::NEG_INFINITY,
            tolerance: 0.0,
            excess: f64::NEG_INFINITY,
            rounding: 0.0,
            scale: 0.0,
            pieces: 0,
            empty_pieces: 0,
            lps: 0,
            exact_patches,
            patches,
            worst_row: 0,
            witness: Vec::new(),
            witness_value: f64::NEG_INFINITY,
            error_budget: 0.0,
            spec_piece: None,
            witness_violation: None,
            witness_in_region: false,
        }
    }

    /// Not certified and no bound: `reason` says why; every one of the `relevant` patches is a
    /// suspect (for refinement).
    pub(super) fn undecided(relevant: Vec<usize>, pieces: usize, reason: Reason) -> RegionCertificate {
        let exact = relevant.len();
        let mut c = RegionCertificate::open(relevant, exact);
        c.max_violation = f64::INFINITY;
        c.excess = f64::INFINITY;
        c.pieces = pieces;
        c.reason = reason;
        c
    }

    /// One LP: the proven `bound` on spec row `row` over a piece, the piece map's `value` at the
    /// LP's point `x`, and the tolerance that bound is held to.
    pub(super) fn record(&mut self, row: usize, bound: f64, value: f64, x: &[f64], tolerance: f64) {
        self.tolerance = self.tolerance.max(tolerance);
        self.excess = self.excess.max(bound - tolerance);
        if bound > self.max_violation {
            self.max_violation = bound;
            self.worst_row = row;
        }
        if value > self.witness_value {
            self.witness_value = value;
            self.witness = x.to_vec();
        }
    }

    /// The region's value scale and the rounding allowance of its rows.
    pub(super) fn note_scale(&mut self, scale: &[f64], rounding: f64) {
        self.scale = self.scale.max(scale.iter().cloned().fold(0.0, f64::max));
        self.rounding = self.rounding.max(rounding);
    }

    /// The verdict once every piece and row is recorded.
    pub(super) fn decide(&mut self) {
        self.certified = self.pieces > 0 && self.empty_pieces == 0 && self.excess <= 0.0;
        self.reason = if self.certified {
            Reason::Certified
        } else if self.empty_pieces > 0 {
            Reason::Unresolved
        } else {
            Reason::Bound
        };
    }
}
