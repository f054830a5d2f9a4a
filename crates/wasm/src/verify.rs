//! Verification of a property by branch and bound, behind handles (core `verify/`; TypeScript
//! twins `ts/verify.ts` and `ts/box-job.ts`). The work happens in `rr_verify_step` (or
//! `rr_verify_expand`) slices, so that the caller can report progress and stop between them.

use relu_repair_core::bounds::{BoundOptions, NetView};
use relu_repair_core::verify::{BoxItem, Disjunct, Property, Verifier, VerifyOptions, METHODS};
use relu_repair_core::{Error, Network};

use crate::abi::{VERIFY_BOXES, VERIFY_LEAVES, VERIFY_OPTIONS, VERIFY_PROPERTY, VERIFY_STATUS};
use crate::handles::{bad_handle, bytes, fail, on, slice, store, with, write_out};
use crate::json::Object;
use crate::layout::{Reader, Writer};

fn verify_options(o: &Object) -> VerifyOptions {
    VerifyOptions {
        bounds: BoundOptions {
            slope: o.code("slope"),
            back_substitute: o.flag("backSubstitute"),
            both_slopes: o.flag("bothSlopes"),
        },
        lp_max_unstable: o.count("lpMaxUnstable"),
        // Not an option of the TypeScript side (yet): the core's default.
        slope_steps: VerifyOptions::default().slope_steps,
        root_samples: o.count("rootSamples"),
        box_samples: o.count("boxSamples"),
        attack_steps: o.count("attackSteps"),
        leaf_unstable: o.count("leafUnstable"),
        leaf_max_pieces: o.count("leafMaxPieces"),
        max_depth: o.count("maxDepth"),
        stop_at_violation: o.flag("stopAtViolation"),
        collect_leaves: o.flag("collectLeaves"),
        best_first: o.flag("bestFirst"),
        queue_cap: o.count("queueCap"),
        seed: o.count("seed") as u64,
        max_boxes: o.count("maxBoxes"),
    }
}

/// The property and root box of a [`VERIFY_PROPERTY`] layout.
fn read_property(o: &Object, params: &[f64], n: usize, k: usize) -> Result<(Property, Option<BoxItem>), Error> {
    let (rows, t, urows) = (o.count("inputRows"), o.count("disjuncts"), o.count("unsafeRows"));
    let dims = [("inputs", n), ("outputs", k), ("inputRows", rows), ("disjuncts", t), ("unsafeRows", urows)];
    let mut r = Reader::new(&VERIFY_PROPERTY, &dims, params);
    let lower = r.array("lower")?.to_vec();
    let upper = r.array("upper")?.to_vec();
    let a = r.array("A")?.to_vec();
    let b = r.array("b")?.to_vec();
    let counts = r.array("disjunctRows")?.to_vec();
    let ua = r.array("unsafeA")?;
    let ub = r.array("unsafeB")?;
    let root_lower = r.optional("rootLower")?.map(|v| v.to_vec());
    let root_upper = r.optional("rootUpper")?.map(|v| v.to_vec());
    r.finish()?;
    let total: usize = counts.iter().map(|&c| c as usize).sum();
    if total != urows {
        return Err(Error::Invalid(format!(
            "verifyProperty: the disjuncts have {} rows in all, unsafeRows says {}",
            total, urows
        )));
    }
    let mut disjuncts = Vec::with_capacity(t);
    let mut at = 0;
    for &c in &counts {
        let c = c as usize;
        disjuncts.push(Disjunct { a: ua[at * k..(at + c) * k].to_vec(), b: ub[at..at + c].to_vec() });
        at += c;
    }
    let prop = Property::new(n, k, lower, upper, &a, &b, disjuncts)?;
    let root = match (root_lower, root_upper) {
        (Some(lo), Some(hi)) => Some(BoxItem {
            lower: lo,
            upper: hi,
            depth: o.count("rootDepth"),
            id: o.number("rootId") as u64,
            parent: None,
            priority: o.number("rootPriority"),
        }),
        (None, None) => None,
        _ => return Err(Error::Invalid("verifyProperty: give both rootLower and rootUpper, or neither".to_string())),
    };
    Ok((prop, root))
}

/// A verifier of the property in `params` ([`VERIFY_PROPERTY`], sizes in the
/// [`VERIFY_OPTIONS`] object `opts`) on network `net`.
#[no_mangle]
pub extern "C" fn rr_verify_new(net: i32, opts: *const u8, opts_len: usize, params: *const f64, len: usize) -> i32 {
    let o = match Object::parse(&VERIFY_OPTIONS, bytes(opts, opts_len)) {
        Ok(o) => o,
        Err(e) => return fail(e),
    };
    let view = match with(net, |n: &mut Network| NetView::new(n)) {
        Some(Ok(v)) => v,
        Some(Err(e)) => return fail(e),
        None => return bad_handle(net, "network"),
    };
    let (n, k) = (view.n_in(), view.n_out());
    let built = read_property(&o, slice(params, len), n, k).and_then(|(prop, root)| match root {
        Some(root) => Verifier::with_root(view, prop, verify_options(&o), root),
        None => Verifier::new(view, prop, verify_options(&o)),
    });
    match built {
        Ok(v) => store(v),
        Err(e) => fail(e),
    }
}

fn on_verifier(h: i32, f: impl FnOnce(&mut Verifier) -> i32) -> i32 {
    on(h, "verifier", f)
}

/// The pattern values the leaves waiting to be read hold.
fn status(v: &mut Verifier, out: *mut f64) -> i32 {
    let n = v.property().n_in;
    let s = v.stats.clone();
    let (waiting, patterns) = v.waiting_leaves();
    let dims = [("methods", METHODS), ("inputs", n)];
    let mut w = Writer::new(&VERIFY_STATUS, &dims);
    w.code("verdict", v.verdict());
    w.count("boxes", s.boxes);
    w.count("splits", s.splits);
    w.count("leaves", s.leaves);
    w.count("exactLeaves", s.exact_leaves);
    w.count("regions", s.regions);
    w.count("violatingRegions", s.violating_regions);
    w.count("lps", s.lps);
    w.count("evaluations", s.evaluations);
    w.count("maxDepth", s.max_depth);
    w.count("maxQueue", s.max_queue);
    w.count("pending", v.pending());
    w.reals("volume", &s.volume);
    w.real("violatedVolume", s.violated_volume);
    w.real("unknownVolume", s.unknown_volume);
    w.real("minMargin", s.min_margin);
    w.real("bestMargin", s.best_margin);
    w.count("leavesWaiting", waiting);
    w.count("patternValues", patterns);
    w.flag("spent", v.spent());
    let cex = v.counterexample.clone();
    w.real("counterexampleMargin", cex.as_ref().map_or(f64::NAN, |c| c.margin));
    w.optional("counterexample", cex.as_ref().map(|c| &c.x[..]));
    write_out(out, &w.finish())
}

/// Works for about `budget` units (see `Verifier::step`); writes [`VERIFY_STATUS`].
#[no_mangle]
pub extern "C" fn rr_verify_step(h: i32, budget: usize, out: *mut f64) -> i32 {
    on_verifier(h, |v| match v.step(budget) {
        Ok(_) => status(v, out),
        Err(e) => fail(e),
    })
}

/// Frontier mode (see `Verifier::expand`): breadth first until `target` boxes wait; writes
/// [`VERIFY_STATUS`].
#[no_mangle]
pub extern "C" fn rr_verify_expand(h: i32, target: usize, budget: usize, out: *mut f64) -> i32 {
    on_verifier(h, |v| match v.expand(target, budget) {
        Ok(_) => status(v, out),
        Err(e) => fail(e),
    })
}

/// Writes the waiting leaves ([`VERIFY_LEAVES`], sizes as the last status said) and forgets them.
#[no_mangle]
pub extern "C" fn rr_verify_leaves(h: i32, out: *mut f64) -> i32 {
    on_verifier(h, |v| {
        let n = v.property().n_in;
        let leaves = v.take_leaves();
        let patterns: usize = leaves.iter().map(|l| l.violating_patterns.len()).sum();
        let dims = [("leaves", leaves.len()), ("inputs", n), ("patternValues", patterns)];
        let mut w = Writer::new(&VERIFY_LEAVES, &dims);
        let col = |f: &dyn Fn(&relu_repair_core::verify::LeafRecord) -> f64| leaves.iter().map(f).collect::<Vec<f64>>();
        w.reals("lower", &leaves.iter().flat_map(|l| l.lower.iter().cloned()).collect::<Vec<f64>>());
        w.reals("upper", &leaves.iter().flat_map(|l| l.upper.iter().cloned()).collect::<Vec<f64>>());
        w.reals("depth", &col(&|l| l.depth as f64));
        w.reals("status", &col(&|l| l.status as i32 as f64));
        w.reals("method", &col(&|l| l.method as i32 as f64));
        w.reals("margin", &col(&|l| l.margin));
        w.reals("regions", &col(&|l| l.regions as f64));
        w.reals("violatingRegions", &col(&|l| l.violating_regions as f64));
        let cex: Vec<f64> = leaves
            .iter()
            .flat_map(|l| match &l.counterexample {
                Some(c) => c.x.clone(),
                None => vec![f64::NAN; n],
            })
            .collect();
        w.reals("counterexample", &cex);
        w.reals("counterexampleMargin", &col(&|l| l.counterexample.as_ref().map_or(f64::NAN, |c| c.margin)));
        w.reals(
            "patterns",
            &leaves.iter().flat_map(|l| l.violating_patterns.iter().map(|&b| b as f64)).collect::<Vec<f64>>(),
        );
        write_out(out, &w.finish())
    })
}

/// Writes the waiting boxes ([`VERIFY_BOXES`], `boxes` = the status' `pending`).
#[no_mangle]
pub extern "C" fn rr_verify_pending(h: i32, out: *mut f64) -> i32 {
    on_verifier(h, |v| {
        let n = v.property().n_in;
        let boxes = v.pending_boxes();
        let dims = [("boxes", boxes.len()), ("inputs", n)];
        let mut w = Writer::new(&VERIFY_BOXES, &dims);
        w.reals("lower", &boxes.iter().flat_map(|b| b.lower.iter().cloned()).collect::<Vec<f64>>());
        w.reals("upper", &boxes.iter().flat_map(|b| b.upper.iter().cloned()).collect::<Vec<f64>>());
        w.reals("depth", &boxes.iter().map(|b| b.depth as f64).collect::<Vec<f64>>());
        w.reals("id", &boxes.iter().map(|b| b.id as f64).collect::<Vec<f64>>());
        w.reals("priority", &boxes.iter().map(|b| b.priority).collect::<Vec<f64>>());
        write_out(out, &w.finish())
    })
}
