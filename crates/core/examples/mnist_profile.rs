//! Profiles region LPs at MNIST scale natively. Input files (little-endian f64), made by a
//! throwaway script: net.bin = [layers, (inputs, outputs, relu) per layer, then per layer its
//! weights (outputs × inputs, row-major) and bias], pts.bin = points (784 each),
//! labels.bin = labels. `cargo run --release --example mnist_profile -- DIR [count]`.
use relu_repair_core::{minimal_patch, Layer, LinearRegion, Network, Spec};
use std::time::Instant;

fn read(path: &str) -> Vec<f64> {
    let b = std::fs::read(path).unwrap();
    b.chunks(8).map(|c| f64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]])).collect()
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let dir = &args[1];
    let count: usize = args.get(2).map(|s| s.parse().unwrap()).unwrap_or(1);
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
    let net = Network::new(layers).unwrap();
    let pts = read(&format!("{}/pts.bin", dir));
    let labels = read(&format!("{}/labels.bin", dir));
    let n = net.n_in();
    let lo = vec![0.0; n];
    let hi = vec![1.0; n];
    for p in 0..count.min(labels.len()) {
        let x = &pts[p * n..(p + 1) * n];
        let t0 = Instant::now();
        let r = LinearRegion::of_point(&net, x, &lo, &hi).unwrap();
        let t1 = Instant::now();
        let spec = Spec::label(net.n_out(), labels[p] as usize, 0.0).unwrap();
        if std::env::var("RR_PERLP").is_ok() {
            let m = r.rows();
            let boxred = (0..m).filter(|&i| (0..n).map(|j| r.a[i * n + j].max(0.0)).sum::<f64>() <= r.b[i]).count();
            println!("rows {} box-redundant {}", m, boxred);
            let mut sx = r.simplex();
            for j in 0..spec.rows() {
                let t = Instant::now();
                let before = sx.pivots;
                let (sol, k) = r.max_output(&mut sx, spec.row(j)).unwrap();
                println!(
                    "  row {}: {:.1} ms, {} pivots, max {:.9}",
                    j,
                    t.elapsed().as_secs_f64() * 1e3,
                    sx.pivots - before,
                    sol.upper + k
                );
            }
        }
        let mp = minimal_patch(&r, &spec);
        let t2 = Instant::now();
        match mp {
            Ok(mp) => println!(
                "point {}: region {:.1} ms ({} rows), minimal patch {:.1} ms, {} lps {} pivots, norm {:.9} lb {:.9} {:?}",
                p,
                (t1 - t0).as_secs_f64() * 1e3,
                r.rows(),
                (t2 - t1).as_secs_f64() * 1e3,
                mp.lps,
                mp.pivots,
                mp.norm(),
                mp.lower_bound,
                mp.proof
            ),
            Err(e) => println!("point {}: {} after {:.1} ms", p, e, (t2 - t1).as_secs_f64() * 1e3),
        }
        if let Ok(mp) = minimal_patch(&r, &spec) {
            println!(
                "   worst upper {:?}",
                mp.worst_upper.iter().map(|v| (v * 100.0).round() / 100.0).collect::<Vec<_>>()
            );
        }
    }
}
