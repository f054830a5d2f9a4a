//! The sparse operator against the dense one it replaces, on random sparse matrices (zero rows,
//! −0.0 weights, odd and even widths): forward pass and Jacobian blocks bit for bit, transpose and
//! |A| equal as numbers (bit for bit where no −0.0 is involved), rows and columns listing exactly
//! the non-zeros; the storage choice at its threshold; networks with sparse layers bit for bit
//! the dense forward pass, with regions whose affine map is the network's.

use crate::network::tests::Rng;
use crate::network::{
    Dense, Graph, Layer, LayerRef, Network, Node, Op, Sparse, Term, SPARSE_DENSITY, SPARSE_MIN_ENTRIES,
};
use crate::region::LinearRegion;

/// A random `n_out × n_in` matrix with about `density` non-zeros, some −0.0 weights and an empty
/// row.
fn sparse_weights(rng: &mut Rng, n_in: usize, n_out: usize, density: f64) -> Vec<f64> {
    let mut w: Vec<f64> = (0..n_in * n_out)
        .map(|_| {
            let u = rng.uniform();
            if u < density {
                rng.normal()
            } else if u < density + 0.05 {
                -0.0
            } else {
                0.0
            }
        })
        .collect();
    if n_out > 2 {
        w[n_in..2 * n_in].iter_mut().for_each(|v| *v = 0.0);
    }
    w
}

fn bits(v: &[f64]) -> Vec<u64> {
    v.iter().map(|x| x.to_bits()).collect()
}

/// A vector with some exact zeros of both signs.
fn vector(rng: &mut Rng, n: usize, signed_zeros: bool) -> Vec<f64> {
    (0..n)
        .map(|_| match rng.next_u64() % 8 {
            0 => 0.0,
            1 if signed_zeros => -0.0,
            _ => rng.normal(),
        })
        .collect()
}

#[test]
fn every_kernel_is_the_dense_operators() {
    let mut rng = Rng(12);
    for &(n_in, n_out, density) in &[(7, 5, 0.2), (8, 6, 0.1), (1, 4, 0.5), (33, 20, 0.05), (64, 3, 0.25), (9, 9, 0.0)]
    {
        let w = sparse_weights(&mut rng, n_in, n_out, density);
        let dense = Op::Dense(Dense { n_in, n_out, w: w.clone() });
        let s = Sparse::from_dense(n_in, n_out, &w);
        s.check("sparse").unwrap();
        let nnz = w.iter().filter(|&&v| v != 0.0).count();
        assert_eq!(s.nnz(), nnz);
        // The dense matrix back, −0.0 read as +0.0.
        assert_eq!(s.to_dense(), w.iter().map(|&v| if v == 0.0 { 0.0 } else { v }).collect::<Vec<_>>());
        let sparse = Op::Sparse(s);
        assert_eq!(sparse.entries(), nnz);
        let what = format!("{}x{}", n_out, n_in);
        for _ in 0..4 {
            let x = vector(&mut rng, n_in, true);
            let y0 = vector(&mut rng, n_out, true);
            for negate in [false, true] {
                // Forward: bit for bit, −0.0 inputs and outputs included.
                let (mut yd, mut ys) = (y0.clone(), y0.clone());
                dense.forward_add(&x, &mut yd, negate);
                sparse.forward_add(&x, &mut ys, negate);
                assert_eq!(bits(&ys), bits(&yd), "{} forward", what);
                // Transpose: equal as numbers; bit for bit when x holds no −0.0.
                let yt = vector(&mut rng, n_out, true);
                let (mut xd, mut xs) = (x.clone(), x.clone());
                dense.transpose_add(&yt, &mut xd, negate);
                sparse.transpose_add(&yt, &mut xs, negate);
                assert_eq!(xs, xd, "{} transpose", what);
                let xp = vector(&mut rng, n_in, false);
                let (mut xd, mut xs) = (xp.clone(), xp.clone());
                dense.transpose_add(&yt, &mut xd, negate);
                sparse.transpose_add(&yt, &mut xs, negate);
                assert_eq!(bits(&xs), bits(&xd), "{} transpose bits", what);
                // Jacobian blocks: the same non-zero axpys in the same order.
                let c = 3;
                let jin = vector(&mut rng, n_in * c, true);
                let j0 = vector(&mut rng, n_out * c, false);
                let (mut jd, mut js) = (j0.clone(), j0.clone());
                dense.jacobian_add(&jin, c, &mut jd, negate);
                sparse.jacobian_add(&jin, c, &mut js, negate);
                assert_eq!(bits(&js), bits(&jd), "{} jacobian", what);
            }
            // |A| x of a radius: equal, and bit for bit when y holds no −0.0.
            let r: Vec<f64> = vector(&mut rng, n_in, false).iter().map(|v| v.abs()).collect();
            let ya = vector(&mut rng, n_out, false);
            let (mut yd, mut ys) = (ya.clone(), ya.clone());
            dense.abs_forward_add(&r, &mut yd);
            sparse.abs_forward_add(&r, &mut ys);
            assert_eq!(bits(&ys), bits(&yd), "{} |A|", what);
        }
        // Rows and columns: exactly the non-zeros, in order.
        for i in 0..n_out {
            let mut got = Vec::new();
            sparse.for_each_in_row(i, |j, a| got.push((j, a)));
            let want: Vec<(usize, f64)> = (0..n_in).map(|j| (j, w[i * n_in + j])).filter(|&(_, a)| a != 0.0).collect();
            assert_eq!(got, want, "{} row {}", what, i);
        }
        for j in 0..n_in {
            let mut got = Vec::new();
            sparse.for_each_in_column(j, |i, a| got.push((i, a)));
            let want: Vec<(usize, f64)> = (0..n_out).map(|i| (i, w[i * n_in + j])).filter(|&(_, a)| a != 0.0).collect();
            assert_eq!(got, want, "{} column {}", what, j);
        }
    }
}

/// A long odd-sized row of products of very different magnitudes that cancel (where the order of
/// the additions shows in the result) gives the dense bits.
#[test]
fn summation_order_is_the_dense_dot_products() {
    let mut rng = Rng(5);
    let n = 101;
    let mut w = vec![0.0; n];
    for (j, v) in w.iter_mut().enumerate() {
        if j % 3 != 1 {
            *v = rng.normal() * 10f64.powi((j % 17) as i32 - 8);
        }
    }
    let x: Vec<f64> = (0..n).map(|j| if j % 2 == 0 { 1.0 + 1e-9 * j as f64 } else { -1.0 }).collect();
    let (mut yd, mut ys) = (vec![0.0], vec![0.0]);
    Op::Dense(Dense { n_in: n, n_out: 1, w: w.clone() }).forward_add(&x, &mut yd, false);
    Op::Sparse(Sparse::from_dense(n, 1, &w)).forward_add(&x, &mut ys, false);
    assert_eq!(ys[0].to_bits(), yd[0].to_bits());
}

#[test]
fn the_storage_is_chosen_at_the_stated_density() {
    let (n_in, n_out) = (100, 50);
    assert!(n_in * n_out >= SPARSE_MIN_ENTRIES);
    let at = (SPARSE_DENSITY * (n_in * n_out) as f64) as usize;
    let with = |nnz: usize| {
        let w: Vec<f64> = (0..n_in * n_out).map(|k| if k < nnz { 0.5 + k as f64 } else { 0.0 }).collect();
        (Op::of_weights(n_in, n_out, &w), Op::Dense(Dense { n_in, n_out, w }).stored())
    };
    let (a, b) = with(at);
    assert_eq!(a.kind(), "sparse");
    assert_eq!(a, b);
    let (a, b) = with(at + 1);
    assert_eq!(a.kind(), "dense");
    assert_eq!(a, b);
    // Sparse storage is at most 3/8 of the dense bytes at the threshold.
    if let Op::Sparse(s) = with(at).0 {
        assert!(s.val.len() * 12 <= n_in * n_out * 8 * 3 / 8);
    }
    // A small matrix stays dense, however many zeros it has.
    let small = vec![0.0; SPARSE_MIN_ENTRIES - 1];
    assert_eq!(Op::of_weights(SPARSE_MIN_ENTRIES - 1, 1, &small).kind(), "dense");
    assert_eq!(Op::of_weights(SPARSE_MIN_ENTRIES, 1, &[small, vec![0.0]].concat()).kind(), "sparse");
    // A dense operator with bad parameters is left to the graph check and its message.
    let bad = Op::Dense(Dense { n_in: 2, n_out: 1, w: vec![0.0] }).stored();
    assert_eq!(bad.kind(), "dense");
    // Inconsistent sparse parameters are refused, naming row and column.
    let mut s = Sparse::from_dense(3, 2, &[0.0, 1.0, 0.0, 2.0, 0.0, 3.0]);
    s.val[2] = f64::NAN;
    assert_eq!(
        s.check("n").unwrap_err().to_string(),
        "n: weight (row 1, column 2) is NaN (stored weights are finite and non-zero)"
    );
    let mut s = Sparse::from_dense(3, 2, &[0.0, 1.0, 0.0, 2.0, 0.0, 3.0]);
    s.col[2] = 0;
    assert!(s.check("n").unwrap_err().to_string().contains("row 1 column 0 is out of order"));
    let mut s = Sparse::from_dense(3, 2, &[0.0, 1.0, 0.0, 2.0, 0.0, 3.0]);
    s.start[2] = 2;
    assert!(s.check("n").unwrap_err().to_string().contains("3 row pointers for 2 rows and 3 entries"));
}

/// A chain 3 → 80 → 100 → 60 → 2 whose middle layers are sparse.
fn sparse_layers(rng: &mut Rng) -> Vec<Layer> {
    let sizes = [3, 80, 100, 60, 2];
    let density = [1.0, 0.15, 0.1, 1.0];
    (0..4)
        .map(|l| {
            let (n_in, n_out) = (sizes[l], sizes[l + 1]);
            let w = if density[l] < 1.0 {
                sparse_weights(rng, n_in, n_out, density[l]).iter().map(|v| v * 2.0).collect()
            } else {
                (0..n_in * n_out).map(|_| rng.normal() / (n_in as f64).sqrt()).collect()
            };
            Layer { n_in, n_out, w, b: (0..n_out).map(|_| 0.1 * rng.normal()).collect(), relu: l < 3 }
        })
        .collect()
}

/// The dense forward pass of layers (bias, then one dense operator's dot product per row).
fn dense_forward(layers: &[Layer], x: &[f64], pre: &mut Vec<f64>) -> Vec<f64> {
    let mut h = x.to_vec();
    for l in layers {
        let mut y = l.b.clone();
        Op::Dense(Dense { n_in: l.n_in, n_out: l.n_out, w: l.w.clone() }).forward_add(&h, &mut y, false);
        if l.relu {
            pre.extend_from_slice(&y);
            y.iter_mut().for_each(|v| {
                if *v < 0.0 {
                    *v = 0.0
                }
            });
        }
        h = y;
    }
    h
}

#[test]
fn networks_store_sparse_layers_and_keep_the_dense_bits() {
    let mut rng = Rng(21);
    let layers = sparse_layers(&mut rng);
    let net = Network::new(layers.clone()).unwrap();
    let kinds: Vec<&str> = net.graph().nodes.iter().map(|n| n.terms[0].op.kind()).collect();
    assert_eq!(kinds, ["dense", "sparse", "sparse", "dense"]);
    // No dense copy of a chain with sparse layers.
    assert!(net.dense_layers().is_none());
    // The same network from borrowed parameters, and from its graph with dense operators.
    let refs: Vec<LayerRef> = layers.iter().map(Layer::as_ref).collect();
    assert_eq!(Network::from_layer_refs(&refs).unwrap(), net);
    let graph = Graph {
        n_in: 3,
        nodes: layers
            .iter()
            .enumerate()
            .map(|(l, layer)| Node {
                terms: vec![Term {
                    from: l,
                    op: Op::Dense(Dense { n_in: layer.n_in, n_out: layer.n_out, w: layer.w.clone() }),
                    negate: false,
                }],
                bias: layer.b.clone(),
                relu: layer.relu,
            })
            .collect(),
    };
    assert_eq!(Network::from_graph(graph).unwrap(), net);
    // Forward passes, pre-activations and patterns: the dense bits.
    for _ in 0..50 {
        let x: Vec<f64> = (0..3).map(|_| rng.range(-2.0, 2.0)).collect();
        let mut pre = Vec::new();
        let want = dense_forward(&layers, &x, &mut pre);
        let mut y = vec![0.0; 2];
        net.forward(&x, &mut y);
        assert_eq!(bits(&y), bits(&want));
        assert_eq!(bits(&net.pre_activations(&x)), bits(&pre));
        assert_eq!(net.pattern(&x), pre.iter().map(|&v| (v >= 0.0) as u8).collect::<Vec<_>>());
    }
}

#[test]
fn a_region_of_a_sparse_network_is_its_affine_piece() {
    let mut rng = Rng(8);
    let net = Network::new(sparse_layers(&mut rng)).unwrap();
    let (lower, upper) = (vec![-2.0; 3], vec![2.0; 3]);
    let x0 = [0.3, -0.4, 0.9];
    let region = LinearRegion::of_pattern(&net, net.pattern(&x0), &lower, &upper).unwrap();
    // The affine map F x + e is the network on the region: at x0, and at points near x0 that
    // keep its pattern (the region's rows hold there).
    let mut checked = 0;
    for t in 0..200 {
        let r = 1e-3 * (1 + t % 10) as f64;
        let x: Vec<f64> = x0.iter().map(|&v| v + rng.range(-r, r)).collect();
        if net.pattern(&x) != region.pattern {
            continue;
        }
        checked += 1;
        let mut y = vec![0.0; 2];
        net.forward(&x, &mut y);
        for k in 0..2 {
            let fx: f64 = (0..3).map(|j| region.f[k * 3 + j] * x[j]).sum::<f64>() + region.e[k];
            assert!((fx - y[k]).abs() <= 1e-12 * (1.0 + y[k].abs()), "{} vs {}", fx, y[k]);
        }
        for (i, &b) in region.b.iter().enumerate() {
            let ax: f64 = (0..3).map(|j| region.a[i * 3 + j] * x[j]).sum();
            assert!(ax <= b + 1e-9, "row {} violated inside the region", i);
        }
    }
    assert!(checked > 20);
}
