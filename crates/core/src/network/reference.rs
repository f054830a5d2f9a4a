//! The dense-layer formulas this module replaced, kept verbatim as a reference: on dense chains
//! the graph code must give the same bits (forward pass, pre-activations, patterns, the rows,
//! norms and affine map of a region, the ReLU program).

use crate::linalg::{axpy, dot, norm2};
use crate::network::tests::{random_network, Rng};
use crate::network::{Layer, Network};
use crate::program::{ProgramNeuron, ReluProgram};
use crate::region::LinearRegion;

fn ref_forward_visit<F: FnMut(usize, &[f64])>(layers: &[Layer], x: &[f64], out: &mut [f64], mut visit: F) {
    let width = layers.iter().map(|l| l.n_out.max(l.n_in)).max().unwrap_or(0);
    let mut cur = x.to_vec();
    let mut next = vec![0.0; width];
    for (l, layer) in layers.iter().enumerate() {
        next.resize(layer.n_out, 0.0);
        for i in 0..layer.n_out {
            next[i] = dot(&layer.w[i * layer.n_in..(i + 1) * layer.n_in], &cur) + layer.b[i];
        }
        if layer.relu {
            visit(l, &next[..layer.n_out]);
            for v in next.iter_mut() {
                if *v < 0.0 {
                    *v = 0.0;
                }
            }
        }
        std::mem::swap(&mut cur, &mut next);
    }
    out[..cur.len()].copy_from_slice(&cur);
}

struct RefRegion {
    a: Vec<f64>,
    b: Vec<f64>,
    neuron: Vec<u32>,
    norms: Vec<f64>,
    constant_neurons: usize,
    f: Vec<f64>,
    e: Vec<f64>,
}

fn ref_region(layers: &[Layer], pattern: &[u8]) -> RefRegion {
    let n = layers[0].n_in;
    let mut amap: Vec<f64> = Vec::new();
    let mut c: Vec<f64> = Vec::new();
    let mut live: Vec<bool> = Vec::new();
    let mut identity = true;
    let (mut a, mut b, mut neuron, mut norms) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let mut constant_neurons = 0;
    let mut offset = 0usize;
    let (mut f, mut e) = (Vec::new(), Vec::new());
    for (li, layer) in layers.iter().enumerate() {
        let (ni, no) = (layer.n_in, layer.n_out);
        let mut z = vec![0.0; no * n];
        let mut z0 = vec![0.0; no];
        for i in 0..no {
            let wrow = &layer.w[i * ni..(i + 1) * ni];
            let zi = &mut z[i * n..(i + 1) * n];
            if identity {
                zi.copy_from_slice(wrow);
                z0[i] = layer.b[i];
            } else {
                for k in 0..ni {
                    if live[k] && wrow[k] != 0.0 {
                        axpy(wrow[k], &amap[k * n..(k + 1) * n], zi);
                    }
                }
                z0[i] = dot(wrow, &c) + layer.b[i];
            }
        }
        identity = false;
        live = vec![true; no];
        if layer.relu {
            for i in 0..no {
                let active = pattern[offset + i] != 0;
                let zi = &mut z[i * n..(i + 1) * n];
                let nr = norm2(zi);
                if nr > 0.0 {
                    let s = if active { -1.0 } else { 1.0 };
                    a.extend(zi.iter().map(|v| s * v / nr));
                    b.push(-s * z0[i] / nr);
                    neuron.push((offset + i) as u32);
                    norms.push(nr);
                } else {
                    constant_neurons += 1;
                }
                if !active {
                    zi.iter_mut().for_each(|v| *v = 0.0);
                    z0[i] = 0.0;
                    live[i] = false;
                }
            }
            offset += no;
        }
        if li + 1 == layers.len() {
            f = z;
            e = z0;
        } else {
            amap = z;
            c = z0;
        }
    }
    RefRegion { a, b, neuron, norms, constant_neurons, f, e }
}

fn ref_program(layers: &[Layer]) -> ReluProgram {
    let n = layers[0].n_in;
    let k = layers[layers.len() - 1].n_out;
    let mut neurons: Vec<ProgramNeuron> = Vec::new();
    let mut prev: Option<Vec<usize>> = None;
    let mut f = vec![0.0; k * n];
    let mut e = vec![0.0; k];
    for (li, layer) in layers.iter().enumerate() {
        let last = li + 1 == layers.len();
        let (ni, no) = (layer.n_in, layer.n_out);
        if last && !layer.relu {
            e.copy_from_slice(&layer.b);
            match &prev {
                None => f.copy_from_slice(&layer.w),
                Some(idx) => {
                    for o in 0..no {
                        for j in 0..ni {
                            let w = layer.w[o * ni + j];
                            if w != 0.0 {
                                neurons[idx[j]].outputs.push((o, w));
                            }
                        }
                    }
                }
            }
            break;
        }
        let mut cur = Vec::with_capacity(no);
        for o in 0..no {
            let wrow = &layer.w[o * ni..(o + 1) * ni];
            let (c, inputs) = match &prev {
                None => (wrow.to_vec(), Vec::new()),
                Some(idx) => (Vec::new(), (0..ni).filter(|&j| wrow[j] != 0.0).map(|j| (idx[j], wrow[j])).collect()),
            };
            neurons.push(ProgramNeuron { c, c0: layer.b[o], inputs, relu: layer.relu, ..ProgramNeuron::default() });
            cur.push(neurons.len() - 1);
        }
        if last {
            for (o, &id) in cur.iter().enumerate() {
                neurons[id].outputs.push((o, 1.0));
            }
        }
        prev = Some(cur);
    }
    ReluProgram { n_in: n, n_out: k, neurons, f, e }
}

fn bits(v: &[f64]) -> Vec<u64> {
    v.iter().map(|x| x.to_bits()).collect()
}

/// Random chains with the awkward cases: zero and −0 weights and biases, dead neurons (all-zero
/// rows), linear hidden layers, ReLU outputs, a single layer.
fn awkward_chain(rng: &mut Rng, trial: usize) -> Network {
    let depth = 1 + trial % 4;
    let sizes: Vec<usize> = (0..=depth).map(|_| 1 + (rng.next_u64() % 7) as usize).collect();
    let mut layers = random_network(rng, &sizes).dense_layers().unwrap().to_vec();
    for (l, layer) in layers.iter_mut().enumerate() {
        for w in layer.w.iter_mut().chain(layer.b.iter_mut()) {
            match rng.next_u64() % 8 {
                0 => *w = 0.0,
                1 => *w = -0.0,
                _ => {}
            }
        }
        if rng.next_u64() % 4 == 0 {
            // A dead neuron: its whole row is zero.
            let i = (rng.next_u64() as usize) % layer.n_out;
            layer.w[i * layer.n_in..(i + 1) * layer.n_in].iter_mut().for_each(|w| *w = -0.0);
        }
        if l + 1 < depth && rng.next_u64() % 4 == 0 {
            layer.relu = false;
        }
        if l + 1 == depth && rng.next_u64() % 3 == 0 {
            layer.relu = true;
        }
    }
    Network::new(layers).unwrap()
}

#[test]
fn dense_chains_give_the_dense_code_bit_for_bit() {
    let mut rng = Rng(2024);
    for trial in 0..400 {
        let net = awkward_chain(&mut rng, trial);
        let layers = net.dense_layers().unwrap().to_vec();
        let (n, k, h) = (net.n_in(), net.n_out(), net.hidden_count());
        for _ in 0..5 {
            let x: Vec<f64> = (0..n).map(|j| if j % 3 == 0 { 0.0 } else { rng.normal() }).collect();
            let (mut y, mut y_ref) = (vec![0.0; k], vec![0.0; k]);
            let (mut z, mut z_ref) = (Vec::new(), Vec::new());
            net.forward_visit(&x, &mut y, |_, pre| z.extend_from_slice(pre));
            ref_forward_visit(&layers, &x, &mut y_ref, |_, pre| z_ref.extend_from_slice(pre));
            assert_eq!(bits(&y), bits(&y_ref), "trial {} forward", trial);
            assert_eq!(bits(&z), bits(&z_ref), "trial {} pre-activations", trial);
            // Regions of the point's pattern and of a random pattern (possibly empty regions,
            // with many dead neurons).
            let random: Vec<u8> = (0..h).map(|_| (rng.next_u64() % 2) as u8).collect();
            for pattern in [net.pattern(&x), random] {
                let r = LinearRegion::of_pattern(&net, pattern.clone(), &vec![-1.0; n], &vec![1.0; n]).unwrap();
                let want = ref_region(&layers, &pattern);
                assert_eq!(bits(&r.a), bits(&want.a), "trial {} rows", trial);
                assert_eq!(bits(&r.b), bits(&want.b), "trial {} right-hand sides", trial);
                assert_eq!(r.neuron, want.neuron);
                assert_eq!(bits(&r.norm), bits(&want.norms));
                assert_eq!(r.constant_neurons, want.constant_neurons);
                assert_eq!(bits(&r.f), bits(&want.f), "trial {} F", trial);
                assert_eq!(bits(&r.e), bits(&want.e), "trial {} e", trial);
            }
        }
        let (p, want) = (ReluProgram::from_network(&net), ref_program(&layers));
        assert_eq!(p.neurons.len(), want.neurons.len());
        for (a, b) in p.neurons.iter().zip(&want.neurons) {
            assert_eq!(bits(&a.c), bits(&b.c));
            assert_eq!(a.c0.to_bits(), b.c0.to_bits());
            assert_eq!(a.relu, b.relu);
            let pairs = |v: &[(usize, f64)]| v.iter().map(|&(i, w)| (i, w.to_bits())).collect::<Vec<_>>();
            assert_eq!(pairs(&a.inputs), pairs(&b.inputs), "trial {}", trial);
            assert_eq!(pairs(&a.outputs), pairs(&b.outputs), "trial {}", trial);
        }
        assert_eq!(bits(&p.f), bits(&want.f));
        assert_eq!(bits(&p.e), bits(&want.e));
    }
}
