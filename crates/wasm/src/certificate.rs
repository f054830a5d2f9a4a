//! Certifiers behind handles (core `certificate/`; TypeScript twin `ts/certificate.ts`).

use relu_repair_core::{
    contradicting_rows, Certifier, CertifyOptions, Error, RegionCertificate, RepairedNetwork, SafeSet, Spec,
};

use crate::abi::{CERTIFY_OPTIONS, REGION_CERTIFICATE, SPEC_CONTRADICTION};
use crate::handles::{bad_handle, bytes, fail, on, slice, store, with, write_out};
use crate::json::Object;
use crate::layout::{Dims, Writer};
use crate::minimal::read_spec;

/// The core's options from a [`CERTIFY_OPTIONS`] object (the composition is the repaired
/// network's).
fn certify_options(o: &Object) -> Result<CertifyOptions, Error> {
    let max_pieces = o.count("maxPieces");
    if max_pieces == 0 {
        return Err(Error::Invalid("certificate: the piece limit must be at least 1".to_string()));
    }
    let t = o.number("tolerance");
    Ok(CertifyOptions {
        rtol: o.number("rtol"),
        tolerance: if t.is_nan() { None } else { Some(t) },
        eps: o.number("eps"),
        max_pieces,
        bound_helpful: o.flag("boundHelpful"),
        chain: false,
    })
}

/// The safe set of `rows` stacked spec rows over `k` outputs, `pieces` pieces of `piece_rows[p]`
/// rows each (one piece: convex).
fn read_safe_set(
    p: *const f64,
    q: *const f64,
    rows: usize,
    k: usize,
    piece_rows: *const f64,
    pieces: usize,
) -> Result<SafeSet, Error> {
    let all = read_spec(p, q, rows, k)?;
    if pieces <= 1 {
        return Ok(SafeSet::convex(all));
    }
    let sizes = slice(piece_rows, pieces);
    let mut out = Vec::with_capacity(pieces);
    let mut start = 0usize;
    for (i, &m) in sizes.iter().enumerate() {
        let m = m as usize;
        if m == 0 || start + m > rows {
            return Err(Error::Invalid(format!("safe set: piece {} has {} rows ({} rows in all)", i, m, rows)));
        }
        out.push(Spec::new(k, all.p[start * k..(start + m) * k].to_vec(), all.q[start..start + m].to_vec())?);
        start += m;
    }
    if start != rows {
        return Err(Error::Invalid(format!("safe set: the pieces have {} rows, the spec {}", start, rows)));
    }
    SafeSet::new(out)
}

/// A certifier for the repaired network `rep` (copied) and the safe set {P y <= q} (`rows`
/// rows, in `pieces` pieces of `piece_rows` rows each), regions taken in the box
/// [lower, upper] ∩ {x : A x <= b} (m rows), with [`CERTIFY_OPTIONS`] (JSON).
#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub extern "C" fn rr_certifier_new(
    rep: i32,
    lower: *const f64,
    upper: *const f64,
    a: *const f64,
    b: *const f64,
    m: usize,
    p: *const f64,
    q: *const f64,
    rows: usize,
    piece_rows: *const f64,
    pieces: usize,
    opts: *const u8,
    opts_len: usize,
) -> i32 {
    let rep_net = match with(rep, |r: &mut RepairedNetwork| r.clone()) {
        Some(r) => r,
        None => return bad_handle(rep, "repaired network"),
    };
    let (n, k) = (rep_net.original.n_in(), rep_net.original.n_out());
    let built = Object::parse(&CERTIFY_OPTIONS, bytes(opts, opts_len)).and_then(|o| {
        Certifier::new(
            rep_net,
            read_safe_set(p, q, rows, k, piece_rows, pieces)?,
            slice(lower, n).to_vec(),
            slice(upper, n).to_vec(),
            slice(a, m * n).to_vec(),
            slice(b, m).to_vec(),
            certify_options(&o)?,
        )
    });
    match built {
        Ok(c) => store(c),
        Err(e) => fail(e),
    }
}

/// [`REGION_CERTIFICATE`] of `cert` (dims: inputs, patches).
pub fn encode_certificate(cert: &RegionCertificate, dims: Dims) -> Vec<f64> {
    let n = dims.iter().find(|d| d.0 == "inputs").map_or(0, |d| d.1);
    let mut w = Writer::new(&REGION_CERTIFICATE, dims);
    w.flag("certified", cert.certified);
    w.code("reason", cert.reason);
    w.real("maxViolation", cert.max_violation);
    w.real("tolerance", cert.tolerance);
    w.real("rounding", cert.rounding);
    w.real("scale", cert.scale);
    w.count("pieces", cert.pieces);
    w.count("emptyPieces", cert.empty_pieces);
    w.count("lps", cert.lps);
    w.count("worstRow", cert.worst_row);
    w.real("witnessValue", cert.witness_value);
    w.real("errorBudget", cert.error_budget);
    w.count("exactPatches", cert.exact_patches);
    w.optional_count("specPiece", cert.spec_piece);
    w.real("witnessViolation", cert.witness_violation.unwrap_or(f64::NAN));
    w.flag("witnessInRegion", cert.witness_in_region);
    w.count("relevant", cert.patches.len());
    w.optional("witness", if cert.witness.len() == n { Some(&cert.witness[..]) } else { None });
    w.reals("patches", &cert.patches.iter().map(|&i| i as f64).collect::<Vec<_>>());
    w.finish()
}

/// Certifies the region of `pattern` (one f64 0/1 per hidden neuron) relaxed by `slack` (one
/// f64 per hidden neuron, pre-activation units; null for none), union piece `piece` first
/// (−1: none), with `hint_len` (−1: none) hidden-neuron indices at `hint` (f64): the rows the
/// repair kept, an untrusted hint (`Certifier::region_with_hint`), and `duals_len` (−1: none)
/// multipliers at `duals` (spec rows × hinted neurons: the repair's LP multipliers on those
/// rows, another untrusted hint, `Certifier::region_with_hints`); writes [`REGION_CERTIFICATE`]
/// (capacity: inputs, patches of the repaired network).
#[no_mangle]
pub extern "C" fn rr_certifier_region(
    h: i32,
    pattern: *const f64,
    slack: *const f64,
    piece: i32,
    hint: *const f64,
    hint_len: i32,
    duals: *const f64,
    duals_len: i32,
    out: *mut f64,
) -> i32 {
    on(h, "certifier", |c: &mut Certifier| {
        let net = &c.rep.original;
        let (hidden, n, np) = (net.hidden_count(), net.n_in(), c.rep.patches.len());
        let pat: Vec<u8> = slice(pattern, hidden).iter().map(|&v| if v != 0.0 { 1 } else { 0 }).collect();
        let sl: Vec<f64> = if slack.is_null() { Vec::new() } else { slice(slack, hidden).to_vec() };
        let preferred = usize::try_from(piece).ok();
        let keep: Option<Vec<u32>> = usize::try_from(hint_len).ok().map(|len| {
            // Not an index (negative, fractional, huge): a neuron no network has, refused below.
            slice(hint, len)
                .iter()
                .map(|&v| if v >= 0.0 && v < u32::MAX as f64 && v.fract() == 0.0 { v as u32 } else { u32::MAX })
                .collect()
        });
        let multipliers: Option<&[f64]> = usize::try_from(duals_len).ok().map(|len| slice(duals, len));
        match c.region_with_hints(&pat, &sl, preferred, keep.as_deref(), multipliers) {
            Ok(cert) => write_out(out, &encode_certificate(&cert, &[("inputs", n), ("patches", np)])),
            Err(e) => fail(e),
        }
    })
}

/// Rows of {P y <= q} (`rows` × `k`) that contradict each other; writes [`SPEC_CONTRADICTION`]
/// (capacity: rows).
#[no_mangle]
pub extern "C" fn rr_spec_contradiction(p: *const f64, q: *const f64, rows: usize, k: usize, out: *mut f64) -> i32 {
    let found = read_spec(p, q, rows, k).and_then(|s| contradicting_rows(&s));
    match found {
        Ok(found) => {
            let r = found.unwrap_or_default();
            let dims = [("rows", rows)];
            let mut w = Writer::new(&SPEC_CONTRADICTION, &dims);
            w.count("count", r.len());
            w.reals("rows", &r.iter().map(|&i| i as f64).collect::<Vec<_>>());
            write_out(out, &w.finish())
        }
        Err(e) => fail(e),
    }
}
