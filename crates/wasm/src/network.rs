//! Networks behind handles (core `network.rs`; TypeScript twin `ts/network.ts`).

use relu_repair_core::{Error, Layer, Network};

use crate::abi::{NETWORK_INFO, NETWORK_LAYER, NETWORK_SHAPE};
use crate::handles::{bytes, fail, on, slice, slice_mut, store, write_out};
use crate::json::Object;
use crate::layout::{capacity, Reader, Writer};

/// The network of a [`NETWORK_SHAPE`] object and its parameters (one [`NETWORK_LAYER`] per
/// layer, in order).
pub fn decode_network(shape: &Object, params: &[f64]) -> Result<Network, Error> {
    let mut layers = Vec::new();
    let mut pos = 0;
    for (l, s) in shape.list("layers").iter().enumerate() {
        let (n_in, n_out, relu) = (s.count("inputs"), s.count("outputs"), s.flag("relu"));
        let dims = [("inputs", n_in), ("outputs", n_out)];
        let len = capacity(&NETWORK_LAYER, &dims);
        if len > params.len() - pos {
            return Err(Error::Invalid(format!(
                "network parameters: layer {} needs {} values, {} remain",
                l,
                len,
                params.len() - pos
            )));
        }
        let mut r = Reader::new(&NETWORK_LAYER, &dims, &params[pos..pos + len]);
        let w = r.array("weights")?.to_vec();
        let b = r.array("bias")?.to_vec();
        r.finish()?;
        layers.push(Layer { n_in, n_out, w, b, relu });
        pos += len;
    }
    if pos != params.len() {
        return Err(Error::Invalid(format!("network parameters: {} trailing values", params.len() - pos)));
    }
    Network::new(layers)
}

/// A network from its shape (JSON, [`NETWORK_SHAPE`]) and parameters.
#[no_mangle]
pub extern "C" fn rr_network_new(shape: *const u8, shape_len: usize, params: *const f64, len: usize) -> i32 {
    let net =
        Object::parse(&NETWORK_SHAPE, bytes(shape, shape_len)).and_then(|s| decode_network(&s, slice(params, len)));
    match net {
        Ok(net) => store(net),
        Err(e) => fail(e),
    }
}

/// Writes [`NETWORK_INFO`].
#[no_mangle]
pub extern "C" fn rr_network_info(h: i32, out: *mut f64) -> i32 {
    on(h, "network", |n: &mut Network| {
        let mut w = Writer::new(&NETWORK_INFO, &[]);
        w.count("inputs", n.n_in());
        w.count("outputs", n.n_out());
        w.count("hidden", n.hidden_count());
        w.count("layers", n.graph().nodes.len());
        write_out(out, &w.finish())
    })
}

/// Outputs of `n` inputs (`n × n_in` row-major), `n × n_out`.
#[no_mangle]
pub extern "C" fn rr_network_forward(h: i32, xs: *const f64, n: usize, out: *mut f64) -> i32 {
    on(h, "network", |net: &mut Network| {
        net.forward_batch(slice(xs, n * net.n_in()), n, slice_mut(out, n * net.n_out()));
        0
    })
}

/// Activation patterns of `n` inputs, one f64 (0 or 1) per hidden neuron.
#[no_mangle]
pub extern "C" fn rr_network_patterns(h: i32, xs: *const f64, n: usize, out: *mut f64) -> i32 {
    on(h, "network", |net: &mut Network| {
        let (ni, hc) = (net.n_in(), net.hidden_count());
        let xs = slice(xs, n * ni);
        let out = slice_mut(out, n * hc);
        for p in 0..n {
            let pat = net.pattern(&xs[p * ni..(p + 1) * ni]);
            for (i, &b) in pat.iter().enumerate() {
                out[p * hc + i] = b as f64;
            }
        }
        0
    })
}
