//! Profiles the HCAS point-wise path natively: `cargo run --release --example hcas_profile`.
use relu_repair_core::{minimal_patch, Layer, LinearRegion, Network, Spec};
use std::time::Instant;

fn parse_nnet(text: &str) -> Network {
    let mut lines = text.lines().filter(|l| !l.trim().starts_with("//") && !l.trim().is_empty());
    let nums = |l: &str| -> Vec<f64> {
        l.split(',').map(|t| t.trim()).filter(|t| !t.is_empty()).map(|t| t.parse().unwrap()).collect()
    };
    let hdr = nums(lines.next().unwrap());
    let nl = hdr[0] as usize;
    let sizes: Vec<usize> = nums(lines.next().unwrap()).iter().map(|v| *v as usize).collect();
    for _ in 0..5 {
        lines.next();
    }
    let mut layers = Vec::new();
    for l in 0..nl {
        let (ni, no) = (sizes[l], sizes[l + 1]);
        let mut w = Vec::new();
        for _ in 0..no {
            w.extend(nums(lines.next().unwrap()));
        }
        let mut b = Vec::new();
        for _ in 0..no {
            b.extend(nums(lines.next().unwrap()));
        }
        layers.push(Layer { n_in: ni, n_out: no, w, b, relu: l + 1 < nl });
    }
    Network::new(layers).unwrap()
}

/// Keeps the optimiser from discarding work whose result is unused (`std::hint::black_box` needs
/// Rust 1.66; the wasm toolchain is 1.63).
fn keep(v: usize) {
    // SAFETY: a volatile read of a live local.
    unsafe { std::ptr::read_volatile(&v) };
}

fn main() {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../../test/fixtures/hcas/");
    let net = parse_nnet(&std::fs::read_to_string(format!("{}HCAS_rect_v6_pra1_tau05_25HU_3000.nnet", root)).unwrap());
    let text = std::fs::read_to_string(format!("{}buggy-points-pra1-tau05.json", root)).unwrap();
    let start = text.find("\"points\"").unwrap();
    let body = &text[start..];
    let open = body.find('[').unwrap();
    let mut depth = 0;
    let mut end = open;
    for (i, ch) in body[open..].char_indices() {
        if ch == '[' {
            depth += 1;
        }
        if ch == ']' {
            depth -= 1;
            if depth == 0 {
                end = open + i;
                break;
            }
        }
    }
    let pts: Vec<Vec<f64>> = body[open + 1..end]
        .split("],")
        .map(|p| p.replace(['[', ']'], "").split(',').map(|t| t.trim().parse().unwrap()).collect())
        .collect();
    let lo = [-65000.0, -65000.0, -std::f64::consts::PI];
    let hi = [65000.0, 65000.0, std::f64::consts::PI];
    let spec = Spec::label(5, 4, 0.0).unwrap();
    let (mut tr, mut tl, mut ts) = (0.0, 0.0, 0.0);
    let reps = 20;
    for _ in 0..reps {
        for p in &pts {
            let t0 = Instant::now();
            let r = LinearRegion::of_point(&net, p, &lo, &hi).unwrap();
            let t1 = Instant::now();
            let mp = minimal_patch(&r, &spec).unwrap();
            let t2 = Instant::now();
            let s = r.support_rows(1e-9, false).unwrap();
            let t3 = Instant::now();
            tr += (t1 - t0).as_secs_f64();
            tl += (t2 - t1).as_secs_f64();
            ts += (t3 - t2).as_secs_f64();
            keep(mp.lps + s.1.len());
        }
    }
    let k = 1e6 / (reps * pts.len()) as f64;
    println!("per point: region {:.1} us, minimal patch {:.1} us, support rows {:.1} us", tr * k, tl * k, ts * k);
}
