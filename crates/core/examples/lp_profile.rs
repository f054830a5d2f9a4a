//! Profiles the region LPs of point-wise repair natively, LP by LP, as `minimal_patch` runs them
//! for a label spec: the spec row worst at the anchor solved exactly, every other row bounded by
//! a cold dual simplex that stops once its certified bound is below the best maximum.
//!
//! Input files (little-endian f64) are written by `node bench/dump-points.mjs MODEL DIR [count]`:
//! net.bin (the core's network descriptor), pts.bin (points), labels.bin (labels).
//! `cargo run --release --example lp_profile -- DIR [count]`.
use relu_repair_core::linalg::{axpy, dot};
use relu_repair_core::{minimal_patch, Layer, LinearRegion, Network, Spec};
use std::time::Instant;

fn read(path: &str) -> Vec<f64> {
    let b = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {}", path, e));
    b.chunks(8).map(|c| f64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]])).collect()
}

fn network(dir: &str) -> Network {
    let d = read(&format!("{}/net.bin", dir));
    let nl = d[0] as usize;
    let mut pos = 1 + 3 * nl;
    let mut layers = Vec::new();
    for l in 0..nl {
        let (ni, no, relu) = (d[1 + 3 * l] as usize, d[2 + 3 * l] as usize, d[3 + 3 * l] != 0.0);
        layers.push(Layer {
            n_in: ni,
            n_out: no,
            w: d[pos..pos + ni * no].to_vec(),
            b: d[pos + ni * no..pos + ni * no + no].to_vec(),
            relu,
        });
        pos += ni * no + no;
    }
    Network::new(layers).unwrap()
}

fn ms(t: Instant) -> f64 {
    t.elapsed().as_secs_f64() * 1e3
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let dir = &args[1];
    let count: usize = args.get(2).map(|s| s.parse().unwrap()).unwrap_or(1);
    let net = network(dir);
    let pts = read(&format!("{}/pts.bin", dir));
    let labels = read(&format!("{}/labels.bin", dir));
    let n = net.n_in();
    let (lo, hi) = (vec![0.0; n], vec![1.0; n]);
    let (mut total, mut lp_total) = (0.0, 0.0);
    for p in 0..count.min(labels.len()) {
        let x = &pts[p * n..(p + 1) * n];
        let t0 = Instant::now();
        let r = LinearRegion::of_point(&net, x, &lo, &hi).unwrap();
        let region_ms = ms(t0);
        let spec = Spec::label(net.n_out(), labels[p] as usize, 0.0).unwrap();
        let t1 = Instant::now();
        let mp = minimal_patch(&r, &spec);
        let patch_ms = ms(t1);
        total += region_ms + patch_ms;
        lp_total += patch_ms;
        let mp = match mp {
            Ok(mp) => mp,
            Err(e) => {
                println!("point {}: FAILED after {:.1} ms: {}", p, patch_ms, e);
                continue;
            }
        };
        println!(
            "point {}: region {:.1} ms ({} rows), minimal patch {:.1} ms, {} exact lps, {} pivots, norm {:.9} lb {:.9} {:?}",
            p,
            region_ms,
            r.rows(),
            patch_ms,
            mp.lps,
            mp.pivots,
            mp.norm(),
            mp.lower_bound,
            mp.proof
        );
        if std::env::var("LP_DETAIL").is_err() {
            continue;
        }
        // The same LPs one by one.
        let y0 = {
            let mut y = vec![0.0; r.n_out];
            r.affine(x, &mut y);
            y
        };
        let mut order: Vec<usize> = (0..spec.rows()).collect();
        let at = |j: usize| dot(spec.row(j), &y0) - spec.q[j];
        order.sort_by(|&a, &b| at(b).partial_cmp(&at(a)).unwrap());
        let t = Instant::now();
        let mut sx = r.simplex();
        let (sol, k) = r.max_output(&mut sx, spec.row(order[0])).unwrap();
        let best = sol.upper + k - spec.q[order[0]];
        println!(
            "   exact row {}: {:.1} ms, {} pivots, {} tight rows, max {:.9}, fallbacks {}",
            order[0],
            ms(t),
            sx.pivots,
            sx.tight_rows().len(),
            best,
            sx.stats().fallbacks
        );
        for &j in &order[1..] {
            let mut c = vec![0.0; n];
            for i in 0..r.n_out {
                axpy(spec.row(j)[i], &r.f[i * n..(i + 1) * n], &mut c);
            }
            let constant = dot(spec.row(j), &r.e) - spec.q[j];
            let t = Instant::now();
            let mut cold = sx.sibling();
            let out = cold.maximize_unless_below(&c, best - constant).unwrap();
            let what = match out {
                Err(b) => format!("bounded by {:.6}", b + constant),
                Ok(s) => format!("solved, max {:.9}", s.upper + constant),
            };
            println!("   row {}: {:.2} ms, {} pivots, {}", j, ms(t), cold.pivots, what);
        }
    }
    println!(
        "total {:.1} ms, {:.1} ms per point ({:.1} in minimal_patch)",
        total,
        total / count as f64,
        lp_total / count as f64
    );
}
