//! Every layout, option object and enum code that crosses the boundary, with names. Mirrored
//! one to one by `ts/wasm/abi.ts`; `rr_abi_describe` (echo.rs) hands these tables to the
//! TypeScript tests, which compare them with their own.
//!
//! * A **layout** is a flat f64 buffer: named fields in order, each a scalar or an array whose
//!   length is a product of named dimensions given by the call (`inputs`, `rows`, …). An
//!   optional field is all NaN when absent; a counted field holds as many values as an earlier
//!   count field says (its shape is the capacity the caller allocates). `layout.rs` reads and
//!   writes them, checking every field name against the table.
//! * An **object** is JSON (options and shapes: everything that is not bulk numbers); `json.rs`
//!   parses and checks it against its table. Non-finite numbers travel as the strings "NaN",
//!   "Infinity" and "-Infinity".
//! * An **enum** maps names to i32 codes. Layouts carry codes, objects carry names.

use relu_repair_core::bounds::LowerSlope;
use relu_repair_core::verify::{LeafStatus, Method, Verdict};
use relu_repair_core::{Proof, Reason, Step};

/// Names and codes of an enum.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EnumSpec {
    pub name: &'static str,
    pub values: &'static [(&'static str, i32)],
}

/// A Rust enum with a wire code and name per variant (see [`EnumSpec`]).
pub trait Code: Sized + Copy + 'static {
    const SPEC: EnumSpec;
    fn code(self) -> i32;
    fn from_code(code: i32) -> Option<Self>;

    fn name(self) -> &'static str {
        let code = self.code();
        Self::SPEC.values.iter().find(|v| v.1 == code).map_or("?", |v| v.0)
    }

    fn from_name(name: &str) -> Option<Self> {
        Self::SPEC.values.iter().find(|v| v.0 == name).and_then(|v| Self::from_code(v.1))
    }
}

/// Defines a wire enum (`enum`) or gives an existing one its codes (`impl`), with its table.
macro_rules! wire_enum {
    ($(#[$m:meta])* enum $ty:ident = $spec:ident($wire:literal) { $($(#[$vm:meta])* $var:ident = $code:literal : $name:literal),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum $ty { $($(#[$vm])* $var),+ }
        wire_enum!(impl $ty = $spec($wire) { $($var = $code : $name),+ });
    };
    (impl $ty:path = $spec:ident($wire:literal) { $($var:ident = $code:literal : $name:literal),+ $(,)? }) => {
        pub const $spec: EnumSpec = EnumSpec { name: $wire, values: &[$(($name, $code)),+] };
        impl Code for $ty {
            const SPEC: EnumSpec = $spec;
            fn code(self) -> i32 {
                use $ty as E;
                match self { $(E::$var => $code),+ }
            }
            fn from_code(code: i32) -> Option<Self> {
                use $ty as E;
                match code { $($code => Some(E::$var),)+ _ => None }
            }
        }
    };
}

wire_enum! {
    /// What every export returns: a count or handle (>= 0), or one of these failures; the
    /// message buffer then says why.
    enum Status = STATUS("Status") {
        Ok = 0: "ok",
        /// Bad input (`Error::Invalid`).
        Invalid = -1: "invalid",
        /// An LP could not be solved to a certified optimum (`Error::Lp`).
        LpFailure = -2: "lpFailure",
        /// Unknown handle, or a handle of another kind of object.
        BadHandle = -3: "badHandle",
        /// A certificate needed more pieces than its limit (`Error::PieceLimit`).
        PieceLimit = -4: "pieceLimit",
        /// The set an LP was about is empty, proven by a verified Farkas certificate
        /// (`Error::Empty`; `LpFailure` is a solver failure, never emptiness).
        Empty = -5: "empty",
    }
}

wire_enum! {
    /// The map of a patch network.
    enum PatchKind = PATCH_KIND("PatchKind") { Constant = 0: "constant", Affine = 1: "affine" }
}

wire_enum! {
    /// How a repaired network composes its constant patches (`RepairedNetwork::chain`).
    enum Composition = COMPOSITION("Composition") { Sum = 0: "sum", Chain = 1: "chain" }
}

wire_enum! {
    /// The structured linear operator of a graph term (core `network/op.rs`).
    enum OpKind = OP_KIND("OpKind") {
        Dense = 0: "dense",
        Conv = 1: "conv",
        AvgPool = 2: "avgPool",
        Scale = 3: "scale",
        Gather = 4: "gather",
        Identity = 5: "identity",
    }
}

wire_enum!(impl Proof = PROOF("Proof") { NotNeeded = 0: "not-needed", ConstantPatch = 1: "constant-patch", NeedsFullLp = 2: "full-lp" });

wire_enum!(impl Step = STEP("Step") { More = 0: "more", Done = 1: "done", Limit = 2: "limit" });

wire_enum! {
    /// Which bounds `rr_bounds_compute` computes.
    enum BoundKind = BOUND_KIND("BoundKind") { Interval = 0: "interval", Symbolic = 1: "symbolic", Lp = 2: "lp", Best = 3: "best" }
}

wire_enum!(impl LowerSlope = LOWER_SLOPE("LowerSlope") { Adaptive = 0: "adaptive", Parallel = 1: "parallel", Zero = 2: "zero" });

wire_enum!(impl Verdict = VERDICT("Verdict") { Running = 0: "running", Holds = 1: "holds", Violated = 2: "violated", Unknown = 3: "unknown" });

wire_enum!(impl LeafStatus = LEAF_STATUS("LeafStatus") { Safe = 0: "safe", Violated = 1: "violated", Unknown = 2: "unknown" });

wire_enum!(impl Method = PROOF_METHOD("ProofMethod") {
    Empty = 0: "empty",
    Interval = 1: "interval",
    Symbolic = 2: "symbolic",
    SymbolicLp = 3: "symbolic-lp",
    LpRelaxation = 4: "lp-relaxation",
    Regions = 5: "regions",
});

wire_enum!(impl Reason = REASON("Reason") {
    Certified = 0: "certified",
    Bound = 1: "bound",
    Unresolved = 2: "unresolved",
    PieceLimit = 3: "pieceLimit",
    UnionLimit = 4: "unionLimit",
    Violated = 5: "violated",
});

pub const ENUMS: &[EnumSpec] = &[
    STATUS,
    PATCH_KIND,
    COMPOSITION,
    PROOF,
    STEP,
    OP_KIND,
    REASON,
    BOUND_KIND,
    LOWER_SLOPE,
    VERDICT,
    LEAF_STATUS,
    PROOF_METHOD,
];

// ---------------------------------------------------------------------------------------------
// Layouts

/// What a field's numbers are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Any f64, NaN and infinities included.
    Real,
    /// A whole number >= 0 (in arrays: an index, below 2³¹).
    Count,
    /// A whole number (possibly negative: −1 marks "none" in index fields; in arrays: i32).
    Integer,
    /// 0 or 1.
    Flag,
    /// A code of the enum.
    Code(EnumSpec),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Field {
    pub name: &'static str,
    pub kind: Kind,
    /// Dimensions whose product is the length; empty for a scalar.
    pub shape: &'static [&'static str],
    /// All NaN when absent.
    pub optional: bool,
    /// The earlier count field holding this array's length (`shape` is then its capacity).
    pub counted_by: Option<&'static str>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Layout {
    pub name: &'static str,
    pub fields: &'static [Field],
}

impl Layout {
    /// The code of a field: its position (the read exports take it).
    pub fn code(&self, name: &str) -> i32 {
        self.fields.iter().position(|f| f.name == name).expect("a field of the layout") as i32
    }
}

const fn scalar(name: &'static str, kind: Kind) -> Field {
    Field { name, kind, shape: &[], optional: false, counted_by: None }
}

const fn array(name: &'static str, kind: Kind, shape: &'static [&'static str]) -> Field {
    Field { name, kind, shape, optional: false, counted_by: None }
}

const fn optional(f: Field) -> Field {
    Field { optional: true, ..f }
}

const fn counted(f: Field, by: &'static str) -> Field {
    Field { counted_by: Some(by), ..f }
}

use Kind::{Count, Flag, Integer, Real};

/// Parameters of one layer of a network (in): weights `outputs × inputs` row-major, then bias.
pub const NETWORK_LAYER: Layout = Layout {
    name: "networkLayer",
    fields: &[array("weights", Real, &["outputs", "inputs"]), array("bias", Real, &["outputs"])],
};

/// Parameters of a graph's dense operator (in), see [`GRAPH_SHAPE`].
pub const DENSE_OP: Layout = Layout { name: "denseOp", fields: &[array("weights", Real, &["outputs", "inputs"])] };

/// Parameters of a graph's convolution (in): ONNX layout, `featureChannels × (imageChannels /
/// groups) × kernelHeight × kernelWidth` (`groupChannels` = imageChannels / groups).
pub const CONV_OP: Layout = Layout {
    name: "convOp",
    fields: &[array("weights", Real, &["featureChannels", "groupChannels", "kernelHeight", "kernelWidth"])],
};

/// Parameters of a graph's element-wise scaling (in).
pub const SCALE_OP: Layout = Layout { name: "scaleOp", fields: &[array("values", Real, &["size"])] };

/// Parameters of a graph's index map (in): the input read by each output, −1 for zero.
pub const GATHER_OP: Layout = Layout { name: "gatherOp", fields: &[array("index", Integer, &["outputs"])] };

/// A graph node's bias (in).
pub const NODE_BIAS: Layout = Layout { name: "nodeBias", fields: &[array("bias", Real, &["size"])] };

/// A constant patch network (in): support rows A x <= b, then d.
pub const CONSTANT_PATCH: Layout = Layout {
    name: "constantPatch",
    fields: &[array("A", Real, &["rows", "inputs"]), array("b", Real, &["rows"]), array("d", Real, &["outputs"])],
};

/// A constant patch network whose support reads rows from the repaired network's shared table
/// (in): row i is table row `slot[i]` below the table's size, else own row `slot[i]` − size of A.
pub const SHARED_CONSTANT_PATCH: Layout = Layout {
    name: "sharedConstantPatch",
    fields: &[
        array("slot", Count, &["rows"]),
        array("A", Real, &["own", "inputs"]),
        array("b", Real, &["rows"]),
        array("d", Real, &["outputs"]),
    ],
};

/// An affine patch network with a shared-table support (in; rows as [`SHARED_CONSTANT_PATCH`]).
pub const SHARED_AFFINE_PATCH: Layout = Layout {
    name: "sharedAffinePatch",
    fields: &[
        array("slot", Count, &["rows"]),
        array("A", Real, &["own", "inputs"]),
        array("b", Real, &["rows"]),
        array("C", Real, &["outputs", "inputs"]),
        array("d", Real, &["outputs"]),
        array("H", Real, &["outputs"]),
    ],
};

/// An affine patch network (in): support rows A x <= b, then C x + d with clamp bounds H.
pub const AFFINE_PATCH: Layout = Layout {
    name: "affinePatch",
    fields: &[
        array("A", Real, &["rows", "inputs"]),
        array("b", Real, &["rows"]),
        array("C", Real, &["outputs", "inputs"]),
        array("d", Real, &["outputs"]),
        array("H", Real, &["outputs"]),
    ],
};

/// `rr_network_info` (out): `nodes` = layers of a dense chain; `denseChain` whether it is one.
pub const NETWORK_INFO: Layout = Layout {
    name: "networkInfo",
    fields: &[
        scalar("inputs", Count),
        scalar("outputs", Count),
        scalar("hidden", Count),
        scalar("nodes", Count),
        scalar("denseChain", Flag),
    ],
};

/// `rr_region_info` (out). `supportRows` is absent until `rr_region_support_rows` ran.
pub const REGION_INFO: Layout = Layout {
    name: "regionInfo",
    fields: &[
        scalar("inputs", Count),
        scalar("outputs", Count),
        scalar("rows", Count),
        scalar("hidden", Count),
        scalar("constantNeurons", Count),
        scalar("impliedRows", Count),
        scalar("impliedLps", Count),
        scalar("impliedWithoutLp", Count),
        optional(scalar("supportRows", Count)),
    ],
};

/// The fields of a region, read one at a time by `rr_region_read(handle, code)` (out).
pub const REGION_FIELDS: Layout = Layout {
    name: "regionFields",
    fields: &[
        array("A", Real, &["rows", "inputs"]),
        array("b", Real, &["rows"]),
        array("F", Real, &["outputs", "inputs"]),
        array("e", Real, &["outputs"]),
        array("pattern", Flag, &["hidden"]),
        // Hidden neuron of each row, −1 for rows of an input set.
        array("rowNeuron", Integer, &["rows"]),
        array("supportA", Real, &["supportRows", "inputs"]),
        array("supportB", Real, &["supportRows"]),
        array("lower", Real, &["inputs"]),
        array("upper", Real, &["inputs"]),
        // Region row copied by each support row, −1 − j for a box face of input j.
        array("supportIndex", Integer, &["supportRows"]),
        array("rowNorms", Real, &["rows"]),
    ],
};

/// A maximum over a region (out), certified from both sides: `lower` is the value at `x`.
pub const LP_SOLUTION: Layout = Layout {
    name: "lpSolution",
    fields: &[
        scalar("lower", Real),
        scalar("upper", Real),
        scalar("infeasibility", Real),
        scalar("pivots", Count),
        array("x", Real, &["inputs"]),
    ],
};

/// `rr_region_minimal_patch` (out); `d` is absent when no constant patch exists.
pub const MINIMAL_PATCH: Layout = Layout {
    name: "minimalPatch",
    fields: &[
        scalar("proof", Kind::Code(PROOF)),
        scalar("lowerBound", Real),
        scalar("norm", Real),
        scalar("residual", Real),
        scalar("lps", Count),
        scalar("pivots", Count),
        scalar("rounding", Real),
        optional(array("d", Real, &["outputs"])),
        array("worstLower", Real, &["rows"]),
        array("worstUpper", Real, &["rows"]),
        array("witnesses", Real, &["rows", "inputs"]),
        array("duals", Real, &["rows", "regionRows"]),
    ],
};

/// `rr_constant_patch` (out): the smallest constant patch for given worst violations; `d` is
/// absent (and `norm` infinite) when none exists.
pub const BEST_CONSTANT_PATCH: Layout =
    Layout { name: "bestConstantPatch", fields: &[scalar("norm", Real), optional(array("d", Real, &["outputs"]))] };

/// `rr_enum_step` (out).
pub const ENUM_STATUS: Layout = Layout {
    name: "enumStatus",
    fields: &[
        scalar("state", Kind::Code(STEP)),
        scalar("regions", Count),
        scalar("pending", Count),
        scalar("lps", Count),
        scalar("explored", Real),
        scalar("thin", Count),
        scalar("empty", Count),
        scalar("forced", Count),
        scalar("hidden", Count),
    ],
};

/// The regions found by an enumeration, read one field at a time from a region index on by
/// `rr_enum_read(handle, code, from)` (out; `regions` = how many are read).
pub const ENUMERATION_FIELDS: Layout = Layout {
    name: "enumerationFields",
    fields: &[
        array("patterns", Flag, &["regions", "hidden"]),
        array("centres", Real, &["regions", "inputs"]),
        array("radii", Real, &["regions"]),
        array("thin", Flag, &["regions"]),
        array("slack", Real, &["regions", "hidden"]),
    ],
};

/// `rr_certifier_region` (out): `patches` lists the `relevant` patches (capacity: all patches);
/// `witness` is absent when no LP was solved, `witnessViolation` (the repaired network's own
/// violation there) with it; `specPiece` is the union piece a convex-tier certificate used.
pub const REGION_CERTIFICATE: Layout = Layout {
    name: "regionCertificate",
    fields: &[
        scalar("certified", Flag),
        scalar("reason", Kind::Code(REASON)),
        scalar("maxViolation", Real),
        scalar("tolerance", Real),
        scalar("rounding", Real),
        scalar("scale", Real),
        scalar("pieces", Count),
        scalar("emptyPieces", Count),
        scalar("lps", Count),
        scalar("worstRow", Count),
        scalar("witnessValue", Real),
        scalar("errorBudget", Real),
        scalar("exactPatches", Count),
        optional(scalar("specPiece", Count)),
        optional(scalar("witnessViolation", Real)),
        scalar("witnessInRegion", Flag),
        scalar("relevant", Count),
        optional(array("witness", Real, &["inputs"])),
        counted(array("patches", Count, &["patches"]), "relevant"),
    ],
};

/// `rr_bounds_compute` (out): every operator's pre-activation bounds, operators in order
/// (`neurons` = their total width), the outputs' bounds, and the unstable ReLU count.
pub const PRE_ACTIVATION_BOUNDS: Layout = Layout {
    name: "preActivationBounds",
    fields: &[
        scalar("unstable", Count),
        array("lower", Real, &["neurons"]),
        array("upper", Real, &["neurons"]),
        array("outputLower", Real, &["outputs"]),
        array("outputUpper", Real, &["outputs"]),
    ],
};

/// `rr_bounds_row` (out): upper bounds of `c·f(x) − q` over the box (the method's, interval
/// arithmetic alone, the symbolic and LP ones — NaN when not computed), and the linear function
/// `slope·x + offset` above it.
pub const ROW_BOUND: Layout = Layout {
    name: "rowBound",
    fields: &[
        scalar("upper", Real),
        scalar("interval", Real),
        scalar("symbolic", Real),
        scalar("lp", Real),
        scalar("offset", Real),
        array("slope", Real, &["inputs"]),
    ],
};

/// `rr_bounds_rows` (out): an upper bound of each of several spec rows `c_i·f(x) − q_i` over one
/// box (the method's, as `upper` of [`ROW_BOUND`] row by row; the passes computed once).
pub const ROW_UPPERS: Layout = Layout { name: "rowUppers", fields: &[array("upper", Real, &["rows"])] };

/// `rr_verify_new` (in): the property (input box, input rows `A x <= b`, the unsafe set as
/// disjuncts of `disjunctRows[t]` rows each, stacked in `unsafeA`, `unsafeB`) and optionally a
/// root box inside it (a job of a larger verification).
pub const VERIFY_PROPERTY: Layout = Layout {
    name: "verifyProperty",
    fields: &[
        array("lower", Real, &["inputs"]),
        array("upper", Real, &["inputs"]),
        array("A", Real, &["inputRows", "inputs"]),
        array("b", Real, &["inputRows"]),
        array("disjunctRows", Count, &["disjuncts"]),
        array("unsafeA", Real, &["unsafeRows", "outputs"]),
        array("unsafeB", Real, &["unsafeRows"]),
        optional(array("rootLower", Real, &["inputs"])),
        optional(array("rootUpper", Real, &["inputs"])),
    ],
};

/// `rr_verify_step`, `rr_verify_expand` (out): the verdict so far and the statistics
/// (`volume` per `ProofMethod`: share of the root box proven safe by each).
pub const VERIFY_STATUS: Layout = Layout {
    name: "verifyStatus",
    fields: &[
        scalar("verdict", Kind::Code(VERDICT)),
        scalar("boxes", Count),
        scalar("splits", Count),
        scalar("leaves", Count),
        scalar("exactLeaves", Count),
        scalar("regions", Count),
        scalar("violatingRegions", Count),
        scalar("lps", Count),
        scalar("evaluations", Count),
        scalar("maxDepth", Count),
        scalar("maxQueue", Count),
        scalar("pending", Count),
        array("volume", Real, &["methods"]),
        scalar("violatedVolume", Real),
        scalar("unknownVolume", Real),
        scalar("minMargin", Real),
        scalar("bestMargin", Real),
        scalar("leavesWaiting", Count),
        scalar("patternValues", Count),
        scalar("spent", Flag),
        scalar("bounding", Flag),
        optional(scalar("counterexampleMargin", Real)),
        optional(array("counterexample", Real, &["inputs"])),
    ],
};

/// `rr_verify_leaves` (out): the finished leaves recorded since the last call (with
/// `collectLeaves`); a leaf without counterexample has NaN there; `patterns` holds the
/// activation patterns of every violating region, leaf after leaf.
pub const VERIFY_LEAVES: Layout = Layout {
    name: "verifyLeaves",
    fields: &[
        array("lower", Real, &["leaves", "inputs"]),
        array("upper", Real, &["leaves", "inputs"]),
        array("depth", Count, &["leaves"]),
        array("status", Kind::Code(LEAF_STATUS), &["leaves"]),
        array("method", Kind::Code(PROOF_METHOD), &["leaves"]),
        array("margin", Real, &["leaves"]),
        array("regions", Count, &["leaves"]),
        array("violatingRegions", Count, &["leaves"]),
        array("counterexample", Real, &["leaves", "inputs"]),
        array("counterexampleMargin", Real, &["leaves"]),
        array("patterns", Flag, &["patternValues"]),
    ],
};

/// `rr_verify_pending` (out): the waiting boxes in canonical order (the jobs of a parallel
/// verification after `rr_verify_expand`).
pub const VERIFY_BOXES: Layout = Layout {
    name: "verifyBoxes",
    fields: &[
        array("lower", Real, &["boxes", "inputs"]),
        array("upper", Real, &["boxes", "inputs"]),
        array("depth", Count, &["boxes"]),
        array("id", Real, &["boxes"]),
        array("priority", Real, &["boxes"]),
    ],
};

/// `rr_spec_contradiction` (out): rows of a spec that contradict each other (`count` of them;
/// 0 when the LP finds no contradiction).
pub const SPEC_CONTRADICTION: Layout = Layout {
    name: "specContradiction",
    fields: &[scalar("count", Count), counted(array("rows", Count, &["rows"]), "count")],
};

pub const LAYOUTS: &[Layout] = &[
    NETWORK_LAYER,
    DENSE_OP,
    CONV_OP,
    SCALE_OP,
    GATHER_OP,
    NODE_BIAS,
    CONSTANT_PATCH,
    AFFINE_PATCH,
    SHARED_CONSTANT_PATCH,
    SHARED_AFFINE_PATCH,
    NETWORK_INFO,
    REGION_INFO,
    REGION_FIELDS,
    LP_SOLUTION,
    MINIMAL_PATCH,
    BEST_CONSTANT_PATCH,
    ENUM_STATUS,
    ENUMERATION_FIELDS,
    REGION_CERTIFICATE,
    SPEC_CONTRADICTION,
    PRE_ACTIVATION_BOUNDS,
    ROW_BOUND,
    ROW_UPPERS,
    VERIFY_PROPERTY,
    VERIFY_STATUS,
    VERIFY_LEAVES,
    VERIFY_BOXES,
];

// ---------------------------------------------------------------------------------------------
// Objects (JSON)

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MemberKind {
    /// A number (non-finite ones as "NaN", "Infinity", "-Infinity").
    Number,
    /// A whole number from 0 to 2³²−1 (a `usize` on wasm32).
    Count,
    Flag,
    /// The name of a code of the enum.
    Code(EnumSpec),
    /// An array of objects.
    List(&'static ObjectSpec),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Member {
    pub name: &'static str,
    pub kind: MemberKind,
}

/// An object with exactly these members (all required, no others).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ObjectSpec {
    pub name: &'static str,
    pub members: &'static [Member],
}

const fn member(name: &'static str, kind: MemberKind) -> Member {
    Member { name, kind }
}

/// One layer's shape (inside [`NETWORK_SHAPE`]); its parameters are a [`NETWORK_LAYER`] layout.
pub const LAYER_SHAPE: ObjectSpec = ObjectSpec {
    name: "layerShape",
    members: &[
        member("inputs", MemberKind::Count),
        member("outputs", MemberKind::Count),
        member("relu", MemberKind::Flag),
    ],
};

/// `rr_network_new`: the layers; the parameters follow as one [`NETWORK_LAYER`] per layer.
pub const NETWORK_SHAPE: ObjectSpec =
    ObjectSpec { name: "networkShape", members: &[member("layers", MemberKind::List(&LAYER_SHAPE))] };

/// One term `±A v_from` of a graph node: `op` picks the operator list of [`GRAPH_SHAPE`] and
/// `index` the operator in it (0 for `identity`, which has no list: its size is the node's).
pub const TERM_SHAPE: ObjectSpec = ObjectSpec {
    name: "termShape",
    members: &[
        member("from", MemberKind::Count),
        member("negate", MemberKind::Flag),
        member("op", MemberKind::Code(OP_KIND)),
        member("index", MemberKind::Count),
    ],
};

/// A graph node `relu?(Σ terms + bias)` of `size` elements.
pub const NODE_SHAPE: ObjectSpec = ObjectSpec {
    name: "nodeShape",
    members: &[
        member("size", MemberKind::Count),
        member("relu", MemberKind::Flag),
        member("terms", MemberKind::List(&TERM_SHAPE)),
    ],
};

/// A dense operator (its weights: a [`DENSE_OP`]).
pub const DENSE_SHAPE: ObjectSpec = ObjectSpec {
    name: "denseShape",
    members: &[member("inputs", MemberKind::Count), member("outputs", MemberKind::Count)],
};

/// A convolution (`transposed`: ONNX ConvTranspose, mapping the feature side to the image side;
/// its weights: a [`CONV_OP`]). Pads are before (top, left) and after (bottom, right).
pub const CONV_SHAPE: ObjectSpec = ObjectSpec {
    name: "convShape",
    members: &[
        member("imageChannels", MemberKind::Count),
        member("imageHeight", MemberKind::Count),
        member("imageWidth", MemberKind::Count),
        member("featureChannels", MemberKind::Count),
        member("featureHeight", MemberKind::Count),
        member("featureWidth", MemberKind::Count),
        member("kernelHeight", MemberKind::Count),
        member("kernelWidth", MemberKind::Count),
        member("strideHeight", MemberKind::Count),
        member("strideWidth", MemberKind::Count),
        member("padTop", MemberKind::Count),
        member("padLeft", MemberKind::Count),
        member("padBottom", MemberKind::Count),
        member("padRight", MemberKind::Count),
        member("dilationHeight", MemberKind::Count),
        member("dilationWidth", MemberKind::Count),
        member("groups", MemberKind::Count),
        member("transposed", MemberKind::Flag),
    ],
};

/// An average pooling (no parameters).
pub const POOL_SHAPE: ObjectSpec = ObjectSpec {
    name: "poolShape",
    members: &[
        member("channels", MemberKind::Count),
        member("imageHeight", MemberKind::Count),
        member("imageWidth", MemberKind::Count),
        member("outputHeight", MemberKind::Count),
        member("outputWidth", MemberKind::Count),
        member("kernelHeight", MemberKind::Count),
        member("kernelWidth", MemberKind::Count),
        member("strideHeight", MemberKind::Count),
        member("strideWidth", MemberKind::Count),
        member("padTop", MemberKind::Count),
        member("padLeft", MemberKind::Count),
        member("padBottom", MemberKind::Count),
        member("padRight", MemberKind::Count),
        member("dilationHeight", MemberKind::Count),
        member("dilationWidth", MemberKind::Count),
        member("countIncludePad", MemberKind::Flag),
    ],
};

/// An element-wise scaling (its values: a [`SCALE_OP`]).
pub const SCALE_SHAPE: ObjectSpec = ObjectSpec { name: "scaleShape", members: &[member("size", MemberKind::Count)] };

/// An index map (its indices: a [`GATHER_OP`]).
pub const GATHER_SHAPE: ObjectSpec = ObjectSpec {
    name: "gatherShape",
    members: &[member("inputs", MemberKind::Count), member("outputs", MemberKind::Count)],
};

/// `rr_graph_new`: a network as a graph (core `network/graph.rs`): value 0 is the input, value
/// k + 1 node k's output, the last node the output. The parameters follow as one layout per
/// operator — every [`DENSE_OP`], then every [`CONV_OP`], [`SCALE_OP`], [`GATHER_OP`], in list
/// order — then one [`NODE_BIAS`] per node.
pub const GRAPH_SHAPE: ObjectSpec = ObjectSpec {
    name: "graphShape",
    members: &[
        member("inputs", MemberKind::Count),
        member("nodes", MemberKind::List(&NODE_SHAPE)),
        member("dense", MemberKind::List(&DENSE_SHAPE)),
        member("conv", MemberKind::List(&CONV_SHAPE)),
        member("pool", MemberKind::List(&POOL_SHAPE)),
        member("scale", MemberKind::List(&SCALE_SHAPE)),
        member("gather", MemberKind::List(&GATHER_SHAPE)),
    ],
};

/// `rr_repaired_add_patch`: the kind picks the parameter layout ([`CONSTANT_PATCH`] or
/// [`AFFINE_PATCH`]), `rows` is its number of support rows.
pub const PATCH_HEADER: ObjectSpec = ObjectSpec {
    name: "patchHeader",
    members: &[
        member("kind", MemberKind::Code(PATCH_KIND)),
        member("rows", MemberKind::Count),
        member("radius", MemberKind::Number),
    ],
};

/// `rr_repaired_add_shared_patch`: as [`PATCH_HEADER`], with `own` rows stored in the patch (the
/// others read from the shared table; layouts [`SHARED_CONSTANT_PATCH`], [`SHARED_AFFINE_PATCH`]).
pub const SHARED_PATCH_HEADER: ObjectSpec = ObjectSpec {
    name: "sharedPatchHeader",
    members: &[
        member("kind", MemberKind::Code(PATCH_KIND)),
        member("rows", MemberKind::Count),
        member("own", MemberKind::Count),
        member("radius", MemberKind::Number),
    ],
};

/// `rr_region_support_rows`: prune redundant rows by LP (with tolerance `tol`), append the box
/// faces (for supports not gated by a shared box indicator).
pub const SUPPORT_ROWS_OPTIONS: ObjectSpec = ObjectSpec {
    name: "supportRowsOptions",
    members: &[
        member("prune", MemberKind::Flag),
        member("withBox", MemberKind::Flag),
        member("tol", MemberKind::Number),
    ],
};

/// `rr_region_minimal_patch`: solve every spec row exactly instead of bounding the rows that
/// cannot decide the norm.
pub const MINIMAL_PATCH_OPTIONS: ObjectSpec =
    ObjectSpec { name: "minimalPatchOptions", members: &[member("exactRows", MemberKind::Flag)] };

/// `rr_enum_new` (see `EnumerateOptions` of the core).
pub const ENUMERATE_OPTIONS: ObjectSpec = ObjectSpec {
    name: "enumerateOptions",
    members: &[
        member("eps", MemberKind::Number),
        member("minRadius", MemberKind::Number),
        member("maxRegions", MemberKind::Count),
    ],
};

/// `rr_certifier_new` (see `CertifyOptions` of the core; the composition comes from the
/// repaired network).
pub const CERTIFY_OPTIONS: ObjectSpec = ObjectSpec {
    name: "certifyOptions",
    members: &[
        member("rtol", MemberKind::Number),
        // NaN: none (the relative tolerance applies).
        member("tolerance", MemberKind::Number),
        member("eps", MemberKind::Number),
        member("maxPieces", MemberKind::Count),
        member("boundHelpful", MemberKind::Flag),
    ],
};

/// `rr_bounds_compute`, `rr_bounds_row` (see `BoundOptions` of the core).
pub const BOUND_OPTIONS: ObjectSpec = ObjectSpec {
    name: "boundOptions",
    members: &[
        member("kind", MemberKind::Code(BOUND_KIND)),
        member("slope", MemberKind::Code(LOWER_SLOPE)),
        member("backSubstitute", MemberKind::Flag),
        member("bothSlopes", MemberKind::Flag),
    ],
};

/// `rr_verify_new`: `VerifyOptions` of the core, the sizes of the [`VERIFY_PROPERTY`] layout,
/// and the root's place in a larger verification (depth, id and priority of a job's box).
pub const VERIFY_OPTIONS: ObjectSpec = ObjectSpec {
    name: "verifyOptions",
    members: &[
        member("slope", MemberKind::Code(LOWER_SLOPE)),
        member("backSubstitute", MemberKind::Flag),
        member("bothSlopes", MemberKind::Flag),
        member("lpMaxUnstable", MemberKind::Count),
        member("rootSamples", MemberKind::Count),
        member("boxSamples", MemberKind::Count),
        member("attackSteps", MemberKind::Count),
        member("leafUnstable", MemberKind::Count),
        member("leafMaxPieces", MemberKind::Count),
        member("maxDepth", MemberKind::Count),
        member("stopAtViolation", MemberKind::Flag),
        member("collectLeaves", MemberKind::Flag),
        member("bestFirst", MemberKind::Flag),
        member("queueCap", MemberKind::Count),
        member("seed", MemberKind::Count),
        member("maxBoxes", MemberKind::Count),
        member("inputRows", MemberKind::Count),
        member("disjuncts", MemberKind::Count),
        member("unsafeRows", MemberKind::Count),
        member("rootDepth", MemberKind::Count),
        member("rootId", MemberKind::Number),
        member("rootPriority", MemberKind::Number),
    ],
};

pub const OBJECTS: &[ObjectSpec] = &[
    LAYER_SHAPE,
    NETWORK_SHAPE,
    TERM_SHAPE,
    NODE_SHAPE,
    DENSE_SHAPE,
    CONV_SHAPE,
    POOL_SHAPE,
    SCALE_SHAPE,
    GATHER_SHAPE,
    GRAPH_SHAPE,
    PATCH_HEADER,
    SHARED_PATCH_HEADER,
    SUPPORT_ROWS_OPTIONS,
    MINIMAL_PATCH_OPTIONS,
    ENUMERATE_OPTIONS,
    CERTIFY_OPTIONS,
    BOUND_OPTIONS,
    VERIFY_OPTIONS,
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_references_resolve() {
        let mut names: Vec<&str> = LAYOUTS.iter().map(|l| l.name).chain(OBJECTS.iter().map(|o| o.name)).collect();
        names.extend(ENUMS.iter().map(|e| e.name));
        let mut sorted = names.clone();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(sorted.len(), names.len(), "{:?}", names);
        for l in LAYOUTS {
            for (i, f) in l.fields.iter().enumerate() {
                assert!(l.fields[..i].iter().all(|g| g.name != f.name), "{}.{} twice", l.name, f.name);
                if let Some(by) = f.counted_by {
                    let count = l.fields[..i].iter().find(|g| g.name == by).expect("count field before");
                    assert!(count.shape.is_empty() && count.kind == Kind::Count, "{}.{}", l.name, f.name);
                }
            }
        }
        for e in ENUMS {
            for (i, v) in e.values.iter().enumerate() {
                assert!(e.values[..i].iter().all(|w| w.0 != v.0 && w.1 != v.1), "{}.{}", e.name, v.0);
            }
        }
    }

    #[test]
    fn codes_and_names_round_trip() {
        for p in [Proof::NotNeeded, Proof::ConstantPatch, Proof::NeedsFullLp] {
            assert_eq!(Proof::from_code(p.code()), Some(p));
            assert_eq!(Proof::from_name(p.name()), Some(p));
        }
        assert_eq!(Step::Limit.code(), 2);
        assert_eq!(PatchKind::from_name("affine"), Some(PatchKind::Affine));
        assert_eq!(Status::from_code(-4), Some(Status::PieceLimit));
        assert_eq!(Status::from_code(-5), Some(Status::Empty));
        assert_eq!(Status::from_code(-6), None);
        assert_eq!(Composition::Chain.name(), "chain");
        assert_eq!(REGION_FIELDS.code("supportIndex"), 10);
        assert_eq!(OpKind::from_name("avgPool"), Some(OpKind::AvgPool));
    }
}
