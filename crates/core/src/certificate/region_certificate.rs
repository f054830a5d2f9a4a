//! The certificate of one region and its bookkeeping, shared by both tiers.

#[derive(Debug, Clone, PartialEq)]
pub struct RegionCertificate {
    pub certified: bool,
    /// max over pieces and spec rows of the proven bound on P_j f̂(x) − q_j (<= tolerance: holds).
    pub max_violation: f64,
    /// The absolute tolerance the bound was compared with (largest over pieces and rows).
    pub tolerance: f64,
    /// Pieces the region was split into (ReLU states of the relevant patches fixed on each); in
    /// the convex tier, the candidate patches bounded.
    pub pieces: usize,
    /// Cells the LP found empty (no point within its feasibility tolerance) or could not solve;
    /// a region with any is not certified.
    pub empty_pieces: usize,
    pub lps: usize,
    /// Indices of the patches whose band reaches the region: first the `exact_patches` modelled
    /// exactly (their band reaches the region, by LP), then constant patches with P_j·d <= 0 on
    /// every spec row whose band box meets the region's, which can only lower every row (bounded
    /// by 0, i.e. left out).
    pub patches: Vec<usize>,
    /// How many of `patches` (the first ones) are modelled exactly.
    pub exact_patches: usize,
    /// Spec row of `max_violation`.
    pub worst_row: usize,
    /// A point of the region where the piece map attains its largest violation, and that value
    /// (empty and −inf when no LP was solved).
    pub witness: Vec<f64>,
    pub witness_value: f64,
    /// Largest decision error budget added to a bound (rounding-level when all is well).
    pub error_budget: f64,
}

impl RegionCertificate {
    /// Nothing proven yet: no bound, no witness; `patches` relevant, the first `exact_patches`
    /// of them modelled exactly.
    pub(super) fn open(patches: Vec<usize>, exact_patches: usize) -> RegionCertificate {
        RegionCertificate {
            certified: false,
            max_violation: f64::NEG_INFINITY,
            tolerance: 0.0,
            pieces: 0,
            empty_pieces: 0,
            lps: 0,
            exact_patches,
            patches,
            worst_row: 0,
            witness: Vec::new(),
            witness_value: f64::NEG_INFINITY,
            error_budget: 0.0,
        }
    }

    /// Not certified and no bound: the region would need more than `pieces` pieces; every one of
    /// the `relevant` patches is a suspect (for refinement).
    pub(super) fn undecided(relevant: Vec<usize>, pieces: usize) -> RegionCertificate {
        let exact = relevant.len();
        let mut c = RegionCertificate::open(relevant, exact);
        c.max_violation = f64::INFINITY;
        c.pieces = pieces;
        c
    }

    /// One LP: the proven `bound` on spec row `row` over a piece, the piece map's `value` at the
    /// LP's point `x`, and the tolerance that bound is held to.
    pub(super) fn record(&mut self, row: usize, bound: f64, value: f64, x: &[f64], tolerance: f64) {
        self.tolerance = self.tolerance.max(tolerance);
        if bound > self.max_violation {
            self.max_violation = bound;
            self.worst_row = row;
        }
        if value > self.witness_value {
            self.witness_value = value;
            self.witness = x.to_vec();
        }
    }

    /// The verdict once every piece and row is recorded.
    pub(super) fn decide(&mut self) {
        self.certified = self.pieces > 0 && self.empty_pieces == 0 && self.max_violation <= self.tolerance;
    }
}
