// Counterexample search in a local-robustness box of a ReLU network (the CIFAR conv net's VNN-LIB
// properties, bench case `cnn-cifar-pointwise`): PGD on the margins with restarts (exact gradients
// by back-propagation through the network's graph, `pgd`), then a walk over linear regions by LP
// (`regionWalk`) where PGD stalls.
//
// Region walk: In the region of
// x (∩ the box) the network is affine, so max_x y_j − y_label there is one LP per other class j
// (LinearRegion.maxOutput): a positive maximum is a counterexample at the LP's vertex, exact up to
// rounding (checked by a forward pass, moved slightly inside the box's region if it sits on a
// face). Otherwise the walk goes to the best vertex and steps across the face it lies on (a small
// signed step along that class's gradient, the region's F), into the next region, where the margin
// can only be lower; restarts from the centre and random corners of the inner box. The margin only
// decreases along a walk: nothing is hard-coded, a box where every walk stalls keeps its best margin.

/** A deterministic generator (for the restarts). */
function lcg(seed) {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

/** The smallest margin y_label − max_{j≠label} y_j over a batch of points (count × n). */
function margins(net, xs, count, label) {
  const y = net.forwardFlat(xs, count);
  const k = net.outputSize;
  const out = new Float64Array(count);
  for (let p = 0; p < count; p++) {
    let other = -Infinity;
    for (let j = 0; j < k; j++) if (j !== label) other = Math.max(other, y[p * k + j]);
    out[p] = y[p * k + label] - other;
  }
  return out;
}

/**
 * Searches box {lower, upper} for inputs the network does not label `label`. Returns the
 * counterexamples (each in a linear region not seen before), the best margin reached, and counts.
 * `LinearRegion` is the library's class (of the same build as `net`).
 */
export function regionWalk(LinearRegion, net, { lower, upper }, label, opts = {}) {
  const n = net.inputSize;
  const k = net.outputSize;
  const restarts = opts.restarts ?? 3;
  const steps = opts.steps ?? 8;
  const want = opts.want ?? 3;
  const random = lcg(opts.seed ?? 12345);
  const clip = (v, i) => Math.min(upper[i], Math.max(lower[i], v));
  const seen = new Set();
  const found = [];
  let best = Infinity;
  let regions = 0;
  let lps = 0;
  for (let restart = 0; restart < restarts && found.length < want; restart++) {
    let x = Float64Array.from(lower, (l, i) =>
      restart === 0 ? (l + upper[i]) / 2 : clip((l + upper[i]) / 2 + (random() < 0.5 ? -0.5 : 0.5) * (upper[i] - l), i),
    );
    for (let step = 0; step < steps && found.length < want; step++) {
      const r = LinearRegion.ofPoint(net, x, { lower, upper });
      regions++;
      let top = -Infinity;
      let vertex = null;
      let cls = -1;
      const F = r.F;
      try {
        for (let j = 0; j < k; j++) {
          if (j === label) continue;
          const w = new Float64Array(k);
          w[j] = 1;
          w[label] = -1;
          const m = r.maxOutput(w);
          lps++;
          if (m.upper > top) {
            top = m.upper;
            vertex = Float64Array.from(m.x, clip);
            cls = j;
          }
        }
      } finally {
        r.free();
      }
      if (!vertex) break;
      // The vertex is on the region's boundary: points on the segment towards x are in the closed
      // region too; the first one the network itself mislabels is the counterexample.
      let hit = null;
      for (const t of [0, 1e-9, 1e-7, 1e-5, 1e-3]) {
        const z = Float64Array.from(vertex, (v, i) => v + t * (x[i] - v));
        const mz = margins(net, z, 1, label)[0];
        best = Math.min(best, mz);
        if (mz < 0) {
          hit = z;
          break;
        }
      }
      if (hit) {
        const key = net.patterns([Array.from(hit)])[0].join('');
        if (!seen.has(key)) {
          seen.add(key);
          found.push({ x: Array.from(hit), margin: margins(net, hit, 1, label)[0], restart, step });
        }
        // On into the next region from there: deeper counterexamples need their own patches.
      }
      // Across the face: a small signed step along the gradient of y_cls − y_label.
      const alpha = 0.05 * 0.7 ** step;
      x = Float64Array.from(vertex, (v, i) => clip(v + alpha * (upper[i] - lower[i]) * Math.sign(F[cls * n + i] - F[label * n + i]), i));
    }
  }
  return { found, bestMargin: best, regions, lps };
}

/** Where output position `o` of a window reads along one axis (−1: in the padding). */
function source(op, axis, o, k, size) {
  const t = o * op.strides[axis] - op.pads[axis] + k * op.dilations[axis];
  return t >= 0 && t < size ? t : -1;
}

/** Calls f(p, w) for every input p and weight w of conv output q (non-transposed). */
function convRow(op, q, f) {
  const [cp, hp, wp] = op.image;
  const [cq, hq, wq] = op.features;
  const [kh, kw] = op.kernel;
  const gp = cp / op.groups;
  const o = Math.floor(q / (hq * wq));
  const oy = Math.floor(q / wq) % hq;
  const ox = q % wq;
  const c0 = Math.floor(o / (cq / op.groups)) * gp;
  for (let ci = 0; ci < gp; ci++)
    for (let ky = 0; ky < kh; ky++) {
      const y = source(op, 0, oy, ky, hp);
      if (y < 0) continue;
      for (let kx = 0; kx < kw; kx++) {
        const x = source(op, 1, ox, kx, wp);
        if (x >= 0) f(((c0 + ci) * hp + y) * wp + x, op.weights[((o * gp + ci) * kh + ky) * kw + kx]);
      }
    }
}

/** y += op(x) (forward) or gx += opᵀ(gy) (backward), for the operators of a CIFAR/MNIST conv net. */
function apply(op, x, y, transpose) {
  switch (op.kind) {
    case 'dense':
      for (let i = 0; i < op.outputs; i++) {
        const row = i * op.inputs;
        if (transpose) {
          const g = x[i];
          if (g !== 0) for (let j = 0; j < op.inputs; j++) y[j] += op.weights[row + j] * g;
        } else {
          let s = 0;
          for (let j = 0; j < op.inputs; j++) s += op.weights[row + j] * x[j];
          y[i] += s;
        }
      }
      return;
    case 'conv': {
      if (op.transposed) break;
      const features = op.features[0] * op.features[1] * op.features[2];
      for (let q = 0; q < features; q++) {
        if (transpose) {
          const g = x[q];
          if (g !== 0) convRow(op, q, (p, w) => (y[p] += w * g));
        } else {
          let s = 0;
          convRow(op, q, (p, w) => (s += w * x[p]));
          y[q] += s;
        }
      }
      return;
    }
    case 'identity':
      for (let i = 0; i < op.size; i++) y[i] += x[i];
      return;
    case 'scale':
      for (let i = 0; i < op.values.length; i++) y[i] += op.values[i] * x[i];
      return;
    case 'gather':
      for (let i = 0; i < op.index.length; i++)
        if (op.index[i] >= 0) {
          if (transpose) y[op.index[i]] += x[i];
          else y[i] += x[op.index[i]];
        }
      return;
  }
  throw new Error(`the attack's gradient does not support operator ${op.kind}${op.transposed ? ' (transposed)' : ''}`);
}

/**
 * Output and gradient of c·f(x) for the network's graph: a forward pass keeping the values, then
 * back-propagation (the gradient of the linear region's map, F^T c: exact, piecewise linear).
 */
export function valueAndGradient(net, x, c) {
  const nodes = net.graph.nodes;
  const values = [x];
  nodes.forEach((node, k) => {
    const y = Float64Array.from(node.bias);
    for (const t of node.terms) {
      if (t.negate) {
        const tmp = new Float64Array(y.length);
        apply(t.op, values[t.from], tmp, false);
        for (let i = 0; i < y.length; i++) y[i] -= tmp[i];
      } else apply(t.op, values[t.from], y, false);
    }
    if (node.relu) for (let i = 0; i < y.length; i++) if (y[i] < 0) y[i] = 0;
    values[k + 1] = y;
  });
  const out = values[nodes.length];
  const grads = values.map((v) => new Float64Array(v.length));
  grads[nodes.length].set(c);
  for (let k = nodes.length - 1; k >= 0; k--) {
    const node = nodes[k];
    const g = grads[k + 1];
    // Through the ReLU: the gradient where the neuron is active (value > 0).
    if (node.relu) for (let i = 0; i < g.length; i++) if (!(values[k + 1][i] > 0)) g[i] = 0;
    for (const t of node.terms) {
      if (t.negate) {
        const tmp = new Float64Array(grads[t.from].length);
        apply(t.op, g, tmp, true);
        for (let i = 0; i < tmp.length; i++) grads[t.from][i] -= tmp[i];
      } else apply(t.op, g, grads[t.from], true);
    }
  }
  return { y: out, grad: grads[0] };
}

/**
 * PGD on the margin y_j − y_label (signed steps, projected on the box), for every target class
 * j in turn from every start: the centre, then random points of the box. Every point the network
 * (its own forward pass) mislabels is a counterexample; one per linear region is kept.
 */
export function pgd(net, { lower, upper }, label, opts = {}) {
  const k = net.outputSize;
  const restarts = opts.restarts ?? 4;
  const steps = opts.steps ?? 40;
  const want = opts.want ?? 3;
  const random = lcg(opts.seed ?? 4242);
  const clip = (v, i) => Math.min(upper[i], Math.max(lower[i], v));
  const seen = new Set();
  const found = [];
  let best = Infinity;
  let evaluations = 0;
  for (let restart = 0; restart < restarts && found.length < want; restart++) {
    const start = Float64Array.from(lower, (l, i) => (restart === 0 ? (l + upper[i]) / 2 : l + random() * (upper[i] - l)));
    for (let j = 0; j < k && found.length < want; j++) {
      if (j === label) continue;
      const c = new Float64Array(k);
      c[j] = 1;
      c[label] = -1;
      let x = start;
      for (let step = 0; step < steps && found.length < want; step++) {
        const { y, grad } = valueAndGradient(net, x, c);
        evaluations++;
        let other = -Infinity;
        for (let o = 0; o < k; o++) if (o !== label) other = Math.max(other, y[o]);
        const margin = y[label] - other;
        best = Math.min(best, margin);
        if (margin < 0) {
          // Confirmed by the network's own evaluator before it counts.
          const m = margins(net, x, 1, label)[0];
          if (m < 0) {
            const key = net.patterns([Array.from(x)])[0].join('');
            if (!seen.has(key)) {
              seen.add(key);
              found.push({ x: Array.from(x), margin: m, target: j, restart, step });
            }
          }
        }
        // Step sizes from half the box down to a hundredth (cosine-like decay).
        const alpha = 0.5 * 0.02 ** (step / Math.max(1, steps - 1));
        x = Float64Array.from(x, (v, i) => clip(v + alpha * (upper[i] - lower[i]) * Math.sign(grad[i]), i));
      }
    }
  }
  return { found, bestMargin: best, evaluations };
}
