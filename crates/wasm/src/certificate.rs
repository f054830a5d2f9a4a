//! Certifiers behind handles (core `certificate/`; TypeScript twin `ts/certificate.ts`).

use relu_repair_core::{
    band_box, certify_region_with, BandBox, CertifyOptions, Error, LinearRegion, RegionCertificate, RepairedNetwork,
    Spec,
};

use crate::abi::{CERTIFY_OPTIONS, REGION_CERTIFICATE};
use crate::handles::{bad_handle, bytes, fail, on, slice, store, with, write_out};
use crate::json::Object;
use crate::layout::{Dims, Writer};
use crate::minimal::read_spec;

struct CertifierState {
    rep: RepairedNetwork,
    spec: Spec,
    lower: Vec<f64>,
    upper: Vec<f64>,
    set_a: Vec<f64>,
    set_b: Vec<f64>,
    opts: CertifyOptions,
    /// Bounding boxes of the patch bands, computed at the first region.
    bands: Option<Vec<Option<BandBox>>>,
}

/// The core's options from a [`CERTIFY_OPTIONS`] object; the composition is the repaired
/// network's (`chain`).
fn certify_options(o: &Object, chain: bool) -> Result<CertifyOptions, Error> {
    let max_pieces = o.count("maxPieces");
    if max_pieces == 0 {
        return Err(Error::Invalid("certificate: the piece limit must be at least 1".to_string()));
    }
    Ok(CertifyOptions {
        rtol: o.number("rtol"),
        eps: o.number("eps"),
        max_pieces,
        bound_helpful: o.flag("boundHelpful"),
        chain,
    })
}

/// A certifier for the repaired network `rep` (copied), Φ_out = {P y <= q} (rows), regions taken
/// in the box [lower, upper] ∩ {x : A x <= b} (m rows), with [`CERTIFY_OPTIONS`] (JSON).
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
    opts: *const u8,
    opts_len: usize,
) -> i32 {
    let rep_net = match with(rep, |r: &mut RepairedNetwork| r.clone()) {
        Some(r) => r,
        None => return bad_handle(rep, "repaired network"),
    };
    let (n, k) = (rep_net.original.n_in(), rep_net.original.n_out());
    let built = Object::parse(&CERTIFY_OPTIONS, bytes(opts, opts_len)).and_then(|o| {
        Ok(CertifierState {
            opts: certify_options(&o, rep_net.chain)?,
            spec: read_spec(p, q, rows, k)?,
            rep: rep_net,
            lower: slice(lower, n).to_vec(),
            upper: slice(upper, n).to_vec(),
            set_a: slice(a, m * n).to_vec(),
            set_b: slice(b, m).to_vec(),
            bands: None,
        })
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
    w.real("maxViolation", cert.max_violation);
    w.real("tolerance", cert.tolerance);
    w.count("pieces", cert.pieces);
    w.count("emptyPieces", cert.empty_pieces);
    w.count("lps", cert.lps);
    w.count("worstRow", cert.worst_row);
    w.real("witnessValue", cert.witness_value);
    w.real("errorBudget", cert.error_budget);
    w.count("exactPatches", cert.exact_patches);
    w.count("relevant", cert.patches.len());
    w.optional("witness", if cert.witness.len() == n { Some(&cert.witness[..]) } else { None });
    w.reals("patches", &cert.patches.iter().map(|&i| i as f64).collect::<Vec<_>>());
    w.finish()
}

/// Certifies the region of `pattern` (one f64 0/1 per hidden neuron); writes
/// [`REGION_CERTIFICATE`] (capacity: inputs, patches of the repaired network).
#[no_mangle]
pub extern "C" fn rr_certifier_region(h: i32, pattern: *const f64, out: *mut f64) -> i32 {
    on(h, "certifier", |c: &mut CertifierState| {
        if c.bands.is_none() {
            let boxes: Result<Vec<_>, Error> = c.rep.patches.iter().map(|p| band_box(p, &c.lower, &c.upper)).collect();
            match boxes {
                Ok(b) => c.bands = Some(b),
                Err(e) => return fail(e),
            }
        }
        let net = &c.rep.original;
        let pat: Vec<u8> = slice(pattern, net.hidden_count()).iter().map(|&v| if v != 0.0 { 1 } else { 0 }).collect();
        let result = LinearRegion::of_pattern(net, pat, &c.lower, &c.upper).and_then(|mut region| {
            if !c.set_b.is_empty() {
                region.intersect(&c.set_a, &c.set_b)?;
            }
            let bands = c.bands.as_deref().unwrap_or(&[]);
            certify_region_with(&region, &c.rep.patches, c.rep.box_gate.as_ref(), bands, &c.spec, &c.opts)
        });
        match result {
            Ok(cert) => {
                write_out(out, &encode_certificate(&cert, &[("inputs", net.n_in()), ("patches", c.rep.patches.len())]))
            }
            Err(e) => fail(e),
        }
    })
}
