//! Verifies ACAS Xu instances natively (profiling the branch and bound):
//! `cargo run --release --example acas_verify -- DIR [net prop]`, where DIR holds `N.nnet`,
//! `prop_P.txt` (lines: `property`, lower bounds, upper bounds, `disjunct m A.. b..`) and
//! `instances.txt` (lines `net prop timeout`).
use relu_repair_core::bounds::{LowerSlope, NetView};
use relu_repair_core::verify::{Disjunct, Property, Verdict, Verifier, VerifyOptions};
use relu_repair_core::{Layer, Network};
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

fn parse_props(text: &str) -> Vec<Property> {
    let mut out = Vec::new();
    let lines: Vec<&str> = text.lines().collect();
    let nums = |l: &str| -> Vec<f64> { l.split_whitespace().map(|t| t.parse().unwrap()).collect() };
    let mut i = 0;
    while i < lines.len() {
        assert_eq!(lines[i], "property");
        let lo = nums(lines[i + 1]);
        let hi = nums(lines[i + 2]);
        i += 3;
        let mut ds = Vec::new();
        while i < lines.len() && lines[i].starts_with("disjunct") {
            let v = nums(&lines[i]["disjunct".len()..]);
            let m = v[0] as usize;
            ds.push(Disjunct { a: v[1..1 + 5 * m].to_vec(), b: v[1 + 5 * m..].to_vec() });
            i += 1;
        }
        out.push(Property::new(5, 5, lo, hi, &[], &[], ds).unwrap());
    }
    out
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let dir = &args[1];
    let inst = std::fs::read_to_string(format!("{}/instances.txt", dir)).unwrap();
    let mut total = 0.0;
    for line in inst.lines() {
        let f: Vec<&str> = line.split_whitespace().collect();
        if args.len() >= 3 && !args[2..].iter().any(|a| *a == format!("{}:{}", f[0], f[1])) {
            continue;
        }
        let net = parse_nnet(&std::fs::read_to_string(format!("{}/{}.nnet", dir, f[0])).unwrap());
        let props = parse_props(&std::fs::read_to_string(format!("{}/prop_{}.txt", dir, f[1])).unwrap());
        let t0 = Instant::now();
        let mut verdict = Verdict::Holds;
        let mut stats = Vec::new();
        for p in props {
            let mut opts = VerifyOptions::default();
            let env = |k: &str| std::env::var(k).ok().map(|v| v.parse::<usize>().unwrap());
            if let Some(b) = env("ACAS_BACK") {
                opts.bounds.back_substitute = b != 0;
            }
            if let Some(b) = env("ACAS_LP") {
                opts.lp_max_unstable = b;
            }
            if let Some(b) = env("ACAS_STEPS") {
                opts.slope_steps = b;
            }
            if let Some(b) = env("ACAS_LEAF") {
                opts.leaf_unstable = b;
            }
            if let Some(b) = env("ACAS_SLOPE") {
                opts.bounds.slope = [LowerSlope::Adaptive, LowerSlope::Parallel, LowerSlope::Zero][b];
            }
            let hist = env("ACAS_HIST").is_some();
            opts.collect_leaves = hist;
            let mut v = Verifier::new(NetView::new(&net).unwrap(), p, opts).unwrap();
            // Finished leaves per depth and method (ACAS_HIST=1: the profile of the brief).
            let mut by_depth = vec![[0usize; 8]; 100];
            while v.step(1000).unwrap() == Verdict::Running {
                for l in v.take_leaves() {
                    by_depth[l.depth][l.method as usize] += 1;
                }
                if t0.elapsed().as_secs_f64() > env_limit() {
                    break;
                }
            }
            for l in v.take_leaves() {
                by_depth[l.depth][l.method as usize] += 1;
            }
            if hist {
                println!("depth: leaves by method [empty interval symbolic symbolic-lp lp-relaxation regions]");
                for (d, c) in by_depth.iter().enumerate() {
                    if c.iter().sum::<usize>() > 0 {
                        println!("{:3} {:?}", d, &c[..6]);
                    }
                }
            }
            let vd = v.verdict();
            stats.push(v.stats.clone());
            if vd != Verdict::Holds {
                verdict = vd;
                break;
            }
        }
        let s = t0.elapsed().as_secs_f64();
        total += s;
        let st = &stats[stats.len() - 1];
        println!(
            "N{} phi{}: {:?} {:.2}s boxes {} exact {} regions {} lps {} evals {} depth {} vol {:?} min_margin {:.3e} best {:.3e}",
            f[0], f[1], verdict, s, st.boxes, st.exact_leaves, st.regions, st.lps, st.evaluations, st.max_depth,
            st.volume.iter().map(|v| (v * 1000.0).round() / 1000.0).collect::<Vec<_>>(), st.min_margin, st.best_margin
        );
    }
    println!("total {:.1}s", total);
}

fn env_limit() -> f64 {
    std::env::var("ACAS_LIMIT").ok().map_or(120.0, |v| v.parse().unwrap())
}
