//! The exports driven as JavaScript drives them: buffers in, layouts out, decoded by name.

use crate::abi::{
    Code, Layout, Status, BEST_CONSTANT_PATCH, ENUMERATION_FIELDS, ENUM_STATUS, LP_SOLUTION, MINIMAL_PATCH,
};
use crate::abi::{NETWORK_INFO, REGION_CERTIFICATE, REGION_FIELDS, REGION_INFO};
use crate::certificate::*;
use crate::enumerate::*;
use crate::handles::*;
use crate::layout::{decode_record, Dims, Value};
use crate::minimal::*;
use crate::network::*;
use crate::region::*;
use crate::repaired::*;

fn msg() -> String {
    // SAFETY: the message buffer is valid UTF-8 of the reported length.
    unsafe { String::from_utf8_lossy(std::slice::from_raw_parts(rr_message_ptr(), rr_message_len())).into_owned() }
}

/// Decodes `out[..written]` as `layout` (checking every value) and returns one field.
fn field(layout: &'static Layout, dims: Dims, out: &[f64], written: i32, name: &str) -> Value {
    assert!(written >= 0, "status {}: {}", written, msg());
    let record = decode_record(layout, dims, &out[..written as usize]).unwrap();
    record.into_iter().find(|(n, _)| *n == name).unwrap().1
}

fn scalar(v: Value) -> f64 {
    match v {
        Value::Scalar(x) => x,
        Value::Array(_) => panic!("an array"),
    }
}

fn array(v: Value) -> Vec<f64> {
    match v {
        Value::Array(x) => x,
        Value::Scalar(_) => panic!("a scalar"),
    }
}

const INVALID: i32 = -1;
const BAD_HANDLE: i32 = -3;

/// 2 -> 2 (relu, identity) -> 2 (y0 = h0 - h1, y1 = h1 - h0).
fn small_network() -> i32 {
    let shape = r#"{"layers":[{"inputs":2,"outputs":2,"relu":true},{"inputs":2,"outputs":2,"relu":false}]}"#;
    let params = [1.0, 0.0, 0.0, 1.0, 0.0, 0.0, 1.0, -1.0, -1.0, 1.0, 0.0, 0.0];
    let net = rr_network_new(shape.as_ptr(), shape.len(), params.as_ptr(), params.len());
    assert!(net > 0, "{}", msg());
    net
}

#[test]
fn network_region_and_patch_through_the_abi() {
    let net = small_network();
    let mut info = [0.0; 5];
    let written = rr_network_info(net, info.as_mut_ptr());
    assert_eq!(written, 5);
    for (name, want) in [("inputs", 2.0), ("outputs", 2.0), ("hidden", 2.0), ("nodes", 2.0), ("denseChain", 1.0)] {
        assert_eq!(scalar(field(&NETWORK_INFO, &[], &info, written, name)), want);
    }
    let x = [0.5, 0.25];
    let mut y = [0.0; 2];
    assert_eq!(rr_network_forward(net, x.as_ptr(), 1, y.as_mut_ptr()), 0);
    assert_eq!(y, [0.25, -0.25]);
    let (lo, hi) = ([0.0, 0.0], [1.0, 1.0]);
    let reg = rr_region_new(net, x.as_ptr(), lo.as_ptr(), hi.as_ptr());
    assert!(reg > 0, "{}", msg());
    let mut rinfo = [0.0; 9];
    let written = rr_region_info(reg, rinfo.as_mut_ptr());
    assert_eq!(scalar(field(&REGION_INFO, &[], &rinfo, written, "rows")), 2.0);
    assert!(scalar(field(&REGION_INFO, &[], &rinfo, written, "supportRows")).is_nan(), "not computed yet");
    // Label 1 must win: P = [1, -1], q = 0.
    let (p, q) = ([1.0, -1.0], [0.0]);
    let opts = r#"{"exactRows":true}"#;
    let mut out = vec![0.0; 15];
    let written = rr_region_minimal_patch(reg, p.as_ptr(), q.as_ptr(), 1, opts.as_ptr(), opts.len(), out.as_mut_ptr());
    let dims: Dims = &[("inputs", 2), ("outputs", 2), ("rows", 1), ("regionRows", 2)];
    assert_eq!(written, 15, "{}", msg());
    // One multiplier per region row, >= 0 (an untrusted hint for the certificate).
    assert!(array(field(&MINIMAL_PATCH, dims, &out, written, "duals")).iter().all(|&v| v >= 0.0));
    assert_eq!(scalar(field(&MINIMAL_PATCH, dims, &out, written, "proof")), 1.0, "constant patch proven minimal");
    // max over [0,1]^2 of (x0 - x1) - (x1 - x0) = 2 (x0 - x1) = 2 at (1, 0); t = 1.
    assert!((scalar(field(&MINIMAL_PATCH, dims, &out, written, "norm")) - 1.0).abs() < 1e-12);
    assert_eq!(array(field(&MINIMAL_PATCH, dims, &out, written, "witnesses")), vec![1.0, 0.0]);
    let bad_opts = r#"{"exactRows":1}"#;
    assert_eq!(
        rr_region_minimal_patch(reg, p.as_ptr(), q.as_ptr(), 1, bad_opts.as_ptr(), bad_opts.len(), out.as_mut_ptr()),
        INVALID
    );
    assert!(msg().contains("\"exactRows\" must be true or false"), "{}", msg());
    // Support rows, pruned and with the box faces, and their provenance.
    let sopts = r#"{"prune":true,"withBox":true,"tol":1e-9}"#;
    let m = rr_region_support_rows(reg, sopts.as_ptr(), sopts.len());
    assert!(m > 0, "{}", msg());
    let sdims: Dims = &[("inputs", 2), ("outputs", 2), ("rows", 2), ("hidden", 2), ("supportRows", m as usize)];
    let mut idx = vec![0.0; m as usize];
    let written = rr_region_read(reg, REGION_FIELDS.code("supportIndex"), idx.as_mut_ptr());
    assert_eq!(written, m);
    let mut sb = vec![0.0; m as usize];
    rr_region_read(reg, REGION_FIELDS.code("supportB"), sb.as_mut_ptr());
    let mut b = vec![0.0; 2];
    rr_region_read(reg, REGION_FIELDS.code("b"), b.as_mut_ptr());
    for (i, &k) in idx.iter().enumerate() {
        if k >= 0.0 {
            assert_eq!(sb[i], b[k as usize], "support row {} copies region row {}", i, k);
        }
    }
    let mut a = vec![0.0; 4];
    let written = rr_region_read(reg, REGION_FIELDS.code("A"), a.as_mut_ptr());
    assert_eq!(written, 4);
    assert!(decode_record(&REGION_FIELDS, sdims, &[]).is_err(), "one field is not the whole layout");
    assert_eq!(rr_region_read(reg, 99, a.as_mut_ptr()), INVALID);
    // The maximum of x0 over the region.
    let mut sol = vec![0.0; 6];
    let written = rr_region_maximize(reg, [1.0, 0.0].as_ptr(), sol.as_mut_ptr());
    let ldims: Dims = &[("inputs", 2)];
    assert!((scalar(field(&LP_SOLUTION, ldims, &sol, written, "upper")) - 1.0).abs() < 1e-12);
    assert_eq!(rr_release(reg), 0);
    assert_eq!(rr_release(reg), BAD_HANDLE);
    // A constant patch d = (1, -1) on x0 <= 1, radius 0.1.
    let rep = rr_repaired_new(net);
    let header = r#"{"kind":"constant","rows":1,"radius":0.1}"#;
    let params = [1.0, 0.0, 1.0, 1.0, -1.0];
    assert_eq!(
        rr_repaired_add_patch(rep, header.as_ptr(), header.len(), params.as_ptr(), params.len()),
        0,
        "{}",
        msg()
    );
    assert_eq!(rr_repaired_forward(rep, x.as_ptr(), 1, y.as_mut_ptr()), 0);
    assert_eq!(y, [1.25, -1.25]);
    let short = [1.0, 0.1, 0.0];
    assert_eq!(rr_repaired_add_patch(rep, header.as_ptr(), header.len(), short.as_ptr(), short.len()), INVALID);
    assert!(msg().contains("constantPatch: field d needs 2 values, 0 remain"), "{}", msg());
    let nan = [1.0, 0.0, 1.0, f64::NAN, -1.0];
    assert_eq!(rr_repaired_add_patch(rep, header.as_ptr(), header.len(), nan.as_ptr(), nan.len()), INVALID);
    assert_eq!(msg(), "patch: parameter 3 is not finite");
    assert_eq!(rr_repaired_set_composition(rep, 7), INVALID);
    assert_eq!(rr_release(rep), 0);
    assert_eq!(rr_release(net), 0);
}

#[test]
fn constant_patches_for_given_violations() {
    // Label spec (label 0 of 2): closed form t = max v / 2.
    let (p, q, v) = ([-1.0, 1.0], [0.0], [0.5]);
    let mut out = [0.0; 3];
    let written = rr_constant_patch(p.as_ptr(), q.as_ptr(), 1, 2, v.as_ptr(), out.as_mut_ptr());
    let dims: Dims = &[("outputs", 2)];
    assert_eq!(scalar(field(&BEST_CONSTANT_PATCH, dims, &out, written, "norm")), 0.25);
    assert_eq!(array(field(&BEST_CONSTANT_PATCH, dims, &out, written, "d")), vec![0.25, -0.25]);
    // y0 <= -1 and -y0 <= -1: no constant patch.
    let (p, q, v) = ([1.0, 0.0, -1.0, 0.0], [-1.0, -1.0], [0.5, 0.5]);
    let written = rr_constant_patch(p.as_ptr(), q.as_ptr(), 2, 2, v.as_ptr(), out.as_mut_ptr());
    assert_eq!(written, 3);
    assert_eq!(scalar(field(&BEST_CONSTANT_PATCH, dims, &out, written, "norm")), f64::INFINITY);
    assert!(out[1].is_nan() && out[2].is_nan(), "d absent");
}

/// x: [1, 3, 3]; v1 = relu(conv 2×2 → [2, 2, 2]); v2 = relu(v1 reversed − x[0..8] (index map));
/// y = dense(v2) + bias, 1 output.
const GRAPH: &str = r#"{"inputs":9,"nodes":[
  {"size":8,"relu":true,"terms":[{"from":0,"negate":false,"op":"conv","index":0}]},
  {"size":8,"relu":true,"terms":[{"from":1,"negate":false,"op":"gather","index":0},{"from":0,"negate":true,"op":"gather","index":1}]},
  {"size":1,"relu":false,"terms":[{"from":2,"negate":false,"op":"dense","index":0},{"from":1,"negate":false,"op":"dense","index":1}]}],
 "dense":[{"inputs":8,"outputs":1},{"inputs":8,"outputs":1}],
 "conv":[{"imageChannels":1,"imageHeight":3,"imageWidth":3,"featureChannels":2,"featureHeight":2,"featureWidth":2,
   "kernelHeight":2,"kernelWidth":2,"strideHeight":1,"strideWidth":1,"padTop":0,"padLeft":0,"padBottom":0,"padRight":0,
   "dilationHeight":1,"dilationWidth":1,"groups":1,"transposed":false}],
 "pool":[],"scale":[],
 "gather":[{"inputs":8,"outputs":8},{"inputs":9,"outputs":8}]}"#;

fn graph_params() -> Vec<f64> {
    let mut p = vec![1.0, -1.0, 0.5, 0.25, 0.5, -0.5, 2.0, 1.0];
    p.extend([0.5, -1.0, 2.0, 1.0, 0.0, 0.5, 1.0, 1.0]);
    p.extend([1.0, 2.0, -1.0, 0.5, 1.0, -2.0, 0.0, 1.0]);
    p.extend([7.0, 6.0, 5.0, 4.0, 3.0, 2.0, 1.0, 0.0]);
    p.extend([0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, -1.0]);
    p.extend([-0.5, 0.5, 0.25, -1.0, 1.0, 0.0, 1.0, -1.0]);
    p.extend([0.0, 0.1, -0.1, 0.2, 0.0, 0.0, 0.3, -0.3]);
    p.push(0.25);
    p
}

#[test]
fn graphs_through_the_abi() {
    let params = graph_params();
    let net = rr_graph_new(GRAPH.as_ptr(), GRAPH.len(), params.as_ptr(), params.len());
    assert!(net > 0, "{}", msg());
    let mut info = [0.0; 5];
    let written = rr_network_info(net, info.as_mut_ptr());
    for (name, want) in [("inputs", 9.0), ("outputs", 1.0), ("hidden", 16.0), ("nodes", 3.0), ("denseChain", 0.0)] {
        assert_eq!(scalar(field(&NETWORK_INFO, &[], &info, written, name)), want, "{}", name);
    }
    // The decoded graph computes what the JSON says, by hand.
    let x: Vec<f64> = (0..9).map(|i| (i as f64 - 4.0) * 0.3).collect();
    let conv_w = &params[16..24];
    let mut v1 = [0.0; 8];
    for o in 0..2 {
        for y in 0..2 {
            for xx in 0..2 {
                let mut s = 0.0;
                for ky in 0..2 {
                    for kx in 0..2 {
                        s += conv_w[o * 4 + ky * 2 + kx] * x[(y + ky) * 3 + xx + kx];
                    }
                }
                v1[o * 4 + y * 2 + xx] = (s + params[40 + o * 4 + y * 2 + xx]).max(0.0);
            }
        }
    }
    let v2: Vec<f64> = (0..8).map(|i| (v1[7 - i] - if i < 7 { x[i] } else { 0.0 } + params[48 + i]).max(0.0)).collect();
    let want = (0..8).map(|i| params[i] * v2[i] + params[8 + i] * v1[i]).sum::<f64>() + params[56];
    let mut y = [0.0];
    assert_eq!(rr_network_forward(net, x.as_ptr(), 1, y.as_mut_ptr()), 0);
    assert!((y[0] - want).abs() < 1e-12, "{} vs {}", y[0], want);
    let mut pat = [0.0; 16];
    assert_eq!(rr_network_patterns(net, x.as_ptr(), 1, pat.as_mut_ptr()), 0);
    let (lo, hi) = ([-5.0; 9], [5.0; 9]);
    let region = rr_region_of_pattern(net, pat.as_ptr(), lo.as_ptr(), hi.as_ptr());
    assert!(region > 0, "{}", msg());
    assert_eq!(rr_release(region), 0);
    assert_eq!(rr_release(net), 0);
    // Errors name the operator and the parameter.
    let short = &params[..params.len() - 1];
    assert_eq!(rr_graph_new(GRAPH.as_ptr(), GRAPH.len(), short.as_ptr(), short.len()), INVALID);
    assert_eq!(msg(), "graph parameters: node 2 bias needs 1 values, 0 remain");
    let mut bad = params.clone();
    bad[33] = -3.0;
    assert_eq!(rr_graph_new(GRAPH.as_ptr(), GRAPH.len(), bad.as_ptr(), bad.len()), INVALID);
    assert!(msg().contains("gather[1] index 1 is -3"), "{}", msg());
    let wrong = GRAPH.replace(r#""op":"dense","index":1"#, r#""op":"dense","index":2"#);
    assert_eq!(rr_graph_new(wrong.as_ptr(), wrong.len(), params.as_ptr(), params.len()), INVALID);
    assert_eq!(msg(), "graphShape.nodes[2].terms[1]: dense operator 2 does not exist (2 given)");
    let cyclic = GRAPH.replace(r#"{"from":0,"negate":true"#, r#"{"from":2,"negate":true"#);
    assert_eq!(rr_graph_new(cyclic.as_ptr(), cyclic.len(), params.as_ptr(), params.len()), INVALID);
    assert!(msg().contains("node 1 term 1 (gather) reads value 2, which is not computed before it"), "{}", msg());
}

#[test]
fn errors_carry_messages() {
    let shape = r#"{"layers":[{"inputs":2,"outputs":1,"relu":false}]}"#;
    let params = [1.0, 2.0];
    assert_eq!(rr_network_new(shape.as_ptr(), shape.len(), params.as_ptr(), params.len()), INVALID);
    assert!(msg().contains("layer 0 needs 3 values, 2 remain"), "{}", msg());
    let bad = r#"{"layers":[{"inputs":2,"outputs":1}]}"#;
    assert_eq!(rr_network_new(bad.as_ptr(), bad.len(), params.as_ptr(), params.len()), INVALID);
    assert_eq!(msg(), "networkShape.layers[0]: member \"relu\" is missing");
    let mut out = [0.0; 4];
    assert_eq!(rr_network_info(12345, out.as_mut_ptr()), BAD_HANDLE);
    assert_eq!(msg(), "handle 12345 is not a live network");
    let net = small_network();
    assert_eq!(rr_region_info(net, out.as_mut_ptr()), BAD_HANDLE, "a network is not a region");
    assert_eq!(rr_release(net), 0);
    assert_eq!(rr_version(), 0);
    assert!(msg().starts_with("{\"core\":"));
    assert_eq!(Status::from_code(fail(relu_repair_core::Error::PieceLimit { limit: 3 })), Some(Status::PieceLimit));
    assert!(msg().contains("more than 3 pieces"));
}

#[test]
fn enumeration_and_certificates_through_the_abi() {
    // y = (relu(x0), relu(-x0)) on [-1, 1]: two regions; label 0 wins only where x0 >= 0.
    let shape = r#"{"layers":[{"inputs":1,"outputs":2,"relu":true},{"inputs":2,"outputs":2,"relu":false}]}"#;
    let params = [1.0, -1.0, 0.0, 0.0, 1.0, 0.0, 0.0, 1.0, 0.0, 0.0];
    let net = rr_network_new(shape.as_ptr(), shape.len(), params.as_ptr(), params.len());
    assert!(net > 0, "{}", msg());
    let (lo, hi) = ([-1.0], [1.0]);
    let opts = r#"{"eps":1e-9,"minRadius":1e-9,"maxRegions":10}"#;
    let en = rr_enum_new(net, lo.as_ptr(), hi.as_ptr(), [].as_ptr(), [].as_ptr(), 0, opts.as_ptr(), opts.len());
    assert!(en > 0, "{}", msg());
    let mut st = [0.0; 9];
    let written = rr_enum_step(en, 1000, st.as_mut_ptr());
    assert_eq!(scalar(field(&ENUM_STATUS, &[], &st, written, "state")), 1.0, "done");
    assert_eq!(scalar(field(&ENUM_STATUS, &[], &st, written, "regions")), 2.0);
    let mut pats = [0.0; 4];
    assert_eq!(rr_enum_read(en, ENUMERATION_FIELDS.code("patterns"), 0, pats.as_mut_ptr()), 4);
    let mut centres = [0.0; 2];
    assert_eq!(rr_enum_read(en, ENUMERATION_FIELDS.code("centres"), 0, centres.as_mut_ptr()), 2);
    let mut last = [0.0; 1];
    assert_eq!(rr_enum_read(en, ENUMERATION_FIELDS.code("radii"), 1, last.as_mut_ptr()), 1);
    assert!((last[0] - 0.5).abs() < 1e-9, "radius of the second region {}", last[0]);
    for r in 0..2 {
        assert_eq!(pats[2 * r], if centres[r] >= 0.0 { 1.0 } else { 0.0 });
    }
    let bad = r#"{"eps":1e-9,"minRadius":1e-9,"maxRegions":0}"#;
    assert_eq!(
        rr_enum_new(net, lo.as_ptr(), hi.as_ptr(), [].as_ptr(), [].as_ptr(), 0, bad.as_ptr(), bad.len()),
        INVALID
    );
    assert!(msg().contains("region limit"), "{}", msg());
    // Unrepaired network, spec y1 - y0 <= 0: certified on the x0 >= 0 region only.
    let rep = rr_repaired_new(net);
    let (p, q) = ([-1.0, 1.0], [0.0]);
    let copts = r#"{"rtol":1e-9,"tolerance":"NaN","eps":0,"maxPieces":1000,"boundHelpful":true}"#;
    let cert = rr_certifier_new(
        rep,
        lo.as_ptr(),
        hi.as_ptr(),
        [].as_ptr(),
        [].as_ptr(),
        0,
        p.as_ptr(),
        q.as_ptr(),
        1,
        [].as_ptr(),
        1,
        copts.as_ptr(),
        copts.len(),
    );
    assert!(cert > 0, "{}", msg());
    let dims: Dims = &[("inputs", 1), ("patches", 0)];
    let mut out = [0.0; 18];
    for r in 0..2 {
        let written = rr_certifier_region(
            cert,
            pats[2 * r..].as_ptr(),
            std::ptr::null(),
            -1,
            std::ptr::null(),
            -1,
            std::ptr::null(),
            -1,
            out.as_mut_ptr(),
        );
        assert_eq!(written, 18, "{}", msg());
        let certified = scalar(field(&REGION_CERTIFICATE, dims, &out, written, "certified"));
        assert_eq!(certified, if centres[r] >= 0.0 { 1.0 } else { 0.0 });
        if certified == 0.0 {
            let worst = scalar(field(&REGION_CERTIFICATE, dims, &out, written, "maxViolation"));
            assert!((worst - 1.0).abs() < 1e-9, "worst violation 1 at x0 = -1: {}", worst);
            assert!((array(field(&REGION_CERTIFICATE, dims, &out, written, "witness"))[0] + 1.0).abs() < 1e-9);
        }
    }
    let zero = r#"{"rtol":1e-9,"tolerance":"NaN","eps":0,"maxPieces":0,"boundHelpful":true}"#;
    let c0 = rr_certifier_new(
        rep,
        lo.as_ptr(),
        hi.as_ptr(),
        [].as_ptr(),
        [].as_ptr(),
        0,
        p.as_ptr(),
        q.as_ptr(),
        1,
        [].as_ptr(),
        1,
        zero.as_ptr(),
        zero.len(),
    );
    assert_eq!(c0, INVALID);
    assert!(msg().contains("piece limit must be at least 1"), "{}", msg());
    for h in [cert, rep, en, net] {
        assert_eq!(rr_release(h), 0);
    }
}

#[test]
fn shared_support_rows_through_the_abi() {
    let net = small_network();
    let rep = rr_repaired_new(net);
    // The same patch as above (d = (1, -1) on x0 <= 1, radius 0.1), its row read from the table.
    let header = r#"{"kind":"constant","rows":1,"own":0,"radius":0.1}"#;
    let params = [0.0, 1.0, 1.0, -1.0];
    assert_eq!(
        rr_repaired_add_shared_patch(rep, header.as_ptr(), header.len(), params.as_ptr(), params.len()),
        INVALID
    );
    assert!(msg().contains("no shared rows"), "{}", msg());
    let mut rows = [0.0; 3];
    assert_eq!(rr_repaired_share_rows(rep, 1, rows.as_mut_ptr(), 3), INVALID);
    assert!(msg().contains("3 values for 1 rows of 2 inputs"), "{}", msg());
    assert_eq!(rr_repaired_share_rows(rep, 2, rows.as_mut_ptr(), 4), 0, "{}", msg());
    let mut four = [0.0; 4];
    assert_eq!(rr_repaired_share_rows(rep, 2, four.as_mut_ptr(), 4), 0);
    assert_eq!(four, [1.0, 0.0, 0.0, 1.0], "the + rows of the first layer (identity)");
    assert_eq!(
        rr_repaired_add_shared_patch(rep, header.as_ptr(), header.len(), params.as_ptr(), params.len()),
        0,
        "{}",
        msg()
    );
    let (x, mut y) = ([0.5, 0.25], [0.0; 2]);
    assert_eq!(rr_repaired_forward(rep, x.as_ptr(), 1, y.as_mut_ptr()), 0);
    assert_eq!(y, [1.25, -1.25]);
    // A slot past the table and the own rows is named.
    let bad = [7.0, 1.0, 1.0, -1.0];
    assert_eq!(rr_repaired_add_shared_patch(rep, header.as_ptr(), header.len(), bad.as_ptr(), bad.len()), INVALID);
    assert!(msg().contains("row slot 0 is 7, past 4 table and 0 own rows"), "{}", msg());
    // The table cannot change size under a patch that reads it.
    assert_eq!(rr_repaired_share_rows(rep, 1, rows.as_mut_ptr(), 0), INVALID);
    assert_eq!(rr_release(rep), 0);
    assert_eq!(rr_release(net), 0);
}
