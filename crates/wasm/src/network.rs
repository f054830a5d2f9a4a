//! Networks behind handles (core `network.rs`; TypeScript twin `ts/network.ts`).

use relu_repair_core::network::LayerRef;
use relu_repair_core::{AvgPool, Conv, Error, Gather, Graph, Network, Node, Op, Term, Window};

use crate::abi::{Code, Layout, NODE_BIAS, SCALE_OP};
use crate::abi::{OpKind, CONV_OP, DENSE_OP, GATHER_OP, GRAPH_SHAPE, NETWORK_INFO, NETWORK_LAYER, NETWORK_SHAPE};
use crate::handles::{bytes, fail, on, slice, slice_mut, store, write_out};
use crate::json::Object;
use crate::layout::{capacity, Reader, Writer};

/// The network of a [`NETWORK_SHAPE`] object and its parameters (one [`NETWORK_LAYER`] per
/// layer, in order). Weights are read in place: a layer the core stores sparse is never copied
/// densely (the parameter buffer is the one dense copy in WebAssembly memory).
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
        let data = &params[pos..pos + len];
        // The reader checks the values; the fields are then the weights followed by the bias.
        let mut r = Reader::new(&NETWORK_LAYER, &dims, data);
        let nw = r.array("weights")?.len();
        r.array("bias")?;
        r.finish()?;
        layers.push(LayerRef { n_in, n_out, w: &data[..nw], b: &data[nw..], relu });
        pos += len;
    }
    if pos != params.len() {
        return Err(Error::Invalid(format!("network parameters: {} trailing values", params.len() - pos)));
    }
    Network::from_layer_refs(&layers)
}

/// Reads consecutive layouts from a graph's parameter buffer.
struct Params<'a> {
    data: &'a [f64],
    pos: usize,
}

impl<'a> Params<'a> {
    /// The one array field of `layout` for these dimensions; `what` names the operator.
    fn take(
        &mut self,
        layout: &'static Layout,
        dims: &[(&'static str, usize)],
        what: &str,
    ) -> Result<&'a [f64], Error> {
        let len = capacity(layout, dims);
        if len > self.data.len() - self.pos {
            return Err(Error::Invalid(format!(
                "graph parameters: {} needs {} values, {} remain",
                what,
                len,
                self.data.len() - self.pos
            )));
        }
        let v = &self.data[self.pos..self.pos + len];
        // The reader checks every value against the field's kind.
        let mut r = Reader::new(layout, dims, v);
        r.array(layout.fields[0].name).map_err(|e| Error::Invalid(format!("graph parameters: {}: {}", what, e)))?;
        r.finish()?;
        self.pos += len;
        Ok(v)
    }
}

fn window(s: &Object) -> Window {
    Window {
        kernel: [s.count("kernelHeight"), s.count("kernelWidth")],
        stride: [s.count("strideHeight"), s.count("strideWidth")],
        pads: [s.count("padTop"), s.count("padLeft"), s.count("padBottom"), s.count("padRight")],
        dilation: [s.count("dilationHeight"), s.count("dilationWidth")],
    }
}

/// The graph of a [`GRAPH_SHAPE`] object and its parameters (checked by the core).
pub fn decode_graph(shape: &Object, params: &[f64]) -> Result<Graph, Error> {
    let mut p = Params { data: params, pos: 0 };
    let mut dense = Vec::new();
    for (i, s) in shape.list("dense").iter().enumerate() {
        let (n_in, n_out) = (s.count("inputs"), s.count("outputs"));
        let w = p.take(&DENSE_OP, &[("inputs", n_in), ("outputs", n_out)], &format!("dense[{}]", i))?;
        // Mostly-zero weights are stored sparse straight from the buffer (no dense copy).
        dense.push(Op::of_weights(n_in, n_out, w));
    }
    let mut conv = Vec::new();
    for (i, s) in shape.list("conv").iter().enumerate() {
        let image = [s.count("imageChannels"), s.count("imageHeight"), s.count("imageWidth")];
        let features = [s.count("featureChannels"), s.count("featureHeight"), s.count("featureWidth")];
        let groups = s.count("groups");
        if groups == 0 || image[0] % groups != 0 {
            return Err(Error::Invalid(format!(
                "graphShape.conv[{}]: {} groups do not divide {} image channels",
                i, groups, image[0]
            )));
        }
        let dims = [
            ("featureChannels", features[0]),
            ("groupChannels", image[0] / groups),
            ("kernelHeight", s.count("kernelHeight")),
            ("kernelWidth", s.count("kernelWidth")),
        ];
        let w = p.take(&CONV_OP, &dims, &format!("conv[{}]", i))?;
        let transposed = s.flag("transposed");
        conv.push(Op::Conv(Conv { image, features, window: window(s), groups, transposed, w: w.to_vec() }));
    }
    let pool: Vec<Op> = shape
        .list("pool")
        .iter()
        .map(|s| {
            Op::AvgPool(AvgPool {
                channels: s.count("channels"),
                image: [s.count("imageHeight"), s.count("imageWidth")],
                output: [s.count("outputHeight"), s.count("outputWidth")],
                window: window(s),
                count_include_pad: s.flag("countIncludePad"),
            })
        })
        .collect();
    let mut scale = Vec::new();
    for (i, s) in shape.list("scale").iter().enumerate() {
        scale.push(Op::Scale(p.take(&SCALE_OP, &[("size", s.count("size"))], &format!("scale[{}]", i))?.to_vec()));
    }
    let mut gather = Vec::new();
    for (i, s) in shape.list("gather").iter().enumerate() {
        let (n_in, n_out) = (s.count("inputs"), s.count("outputs"));
        let index = p.take(&GATHER_OP, &[("outputs", n_out)], &format!("gather[{}]", i))?;
        if let Some(j) = index.iter().position(|&v| v < -1.0) {
            return Err(Error::Invalid(format!(
                "graph parameters: gather[{}] index {} is {} (−1 marks zero fill)",
                i, j, index[j]
            )));
        }
        let index = index.iter().map(|&v| if v < 0.0 { Gather::ZERO } else { v as u32 }).collect();
        gather.push(Op::Gather(Gather { n_in, index }));
    }
    let mut nodes = Vec::new();
    for (k, s) in shape.list("nodes").iter().enumerate() {
        let size = s.count("size");
        let mut terms = Vec::new();
        for (t, ts) in s.list("terms").iter().enumerate() {
            let (kind, i) = (ts.code::<OpKind>("op"), ts.count("index"));
            let list = match kind {
                OpKind::Dense => &dense,
                OpKind::Conv => &conv,
                OpKind::AvgPool => &pool,
                OpKind::Scale => &scale,
                OpKind::Gather => &gather,
                OpKind::Identity => {
                    terms.push(Term { from: ts.count("from"), op: Op::Identity(size), negate: ts.flag("negate") });
                    continue;
                }
            };
            let op = match list.get(i) {
                Some(op) => op.clone(),
                None => {
                    return Err(Error::Invalid(format!(
                        "graphShape.nodes[{}].terms[{}]: {} operator {} does not exist ({} given)",
                        k,
                        t,
                        kind.name(),
                        i,
                        list.len()
                    )))
                }
            };
            terms.push(Term { from: ts.count("from"), op, negate: ts.flag("negate") });
        }
        let bias = p.take(&NODE_BIAS, &[("size", size)], &format!("node {} bias", k))?.to_vec();
        nodes.push(Node { terms, bias, relu: s.flag("relu") });
    }
    if p.pos != params.len() {
        return Err(Error::Invalid(format!("graph parameters: {} trailing values", params.len() - p.pos)));
    }
    Ok(Graph { n_in: shape.count("inputs"), nodes })
}

/// A network from its graph (JSON, [`GRAPH_SHAPE`]) and parameters.
#[no_mangle]
pub extern "C" fn rr_graph_new(shape: *const u8, shape_len: usize, params: *const f64, len: usize) -> i32 {
    let net = Object::parse(&GRAPH_SHAPE, bytes(shape, shape_len))
        .and_then(|s| decode_graph(&s, slice(params, len)))
        .and_then(Network::from_graph);
    match net {
        Ok(net) => store(net),
        Err(e) => fail(e),
    }
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
        w.count("nodes", n.graph().nodes.len());
        w.flag("denseChain", n.dense_layers().is_some());
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
        let mut pat = vec![0u8; hc];
        for p in 0..n {
            net.patterns_batch(&xs[p * ni..(p + 1) * ni], 1, &mut pat);
            for (i, &b) in pat.iter().enumerate() {
                out[p * hc + i] = b as f64;
            }
        }
        0
    })
}
