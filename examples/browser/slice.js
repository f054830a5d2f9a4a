// A 2-D slice through the input space (inputs 0 and 1 on the axes, the others fixed), rendered
// as advisory classes per pixel, with the repaired regions' outlines. Pure functions (no DOM),
// shared by the page and by its test, which recomputes the picture independently in Node.

/** Class colours (COC, WL, WR, SL, SR for HCAS; more classes cycle) and the outline colour. */
export const PALETTE = [
  [225, 225, 225],
  [130, 185, 240],
  [250, 195, 115],
  [45, 95, 200],
  [215, 55, 40],
  [120, 190, 110],
  [170, 120, 200],
];
export const OUTLINE = [0, 0, 0];

/**
 * The HCAS demo view: the counterexamples cluster near the origin (x, y within tens of feet,
 * a few up to 4,400 ft) and their linear regions are wedges from the origin, so a ±100 ft
 * window at θ = −2.4 rad (about the median θ of the points) cuts 21 of the 42 repaired regions.
 */
export const HCAS_VIEW = { x: [-100, 100], y: [-100, 100], fixed: [0, 0, -2.4] };

/** A view for any model: the points' bounding box in inputs 0 and 1 (+10 %), the others at their median. */
export function defaultView(points) {
  const dim = points[0].length;
  const range = (j) => {
    const v = points.map((p) => p[j]);
    const lo = Math.min(...v);
    const hi = Math.max(...v);
    const pad = 0.1 * (hi - lo) || 1;
    return [lo - pad, hi + pad];
  };
  const median = (j) => points.map((p) => p[j]).sort((a, b) => a - b)[Math.floor(points.length / 2)];
  return { x: range(0), y: range(1), fixed: Array.from({ length: dim }, (_, j) => (j < 2 ? 0 : median(j))) };
}

/** Pixel centres (row-major, top row = largest y) as flat network inputs. */
export function sliceInputs(view, dim, width, height) {
  const xs = new Float64Array(width * height * dim);
  for (let r = 0; r < height; r++) {
    const y = view.y[1] - ((view.y[1] - view.y[0]) * (r + 0.5)) / height;
    for (let c = 0; c < width; c++) {
      const x = view.x[0] + ((view.x[1] - view.x[0]) * (c + 0.5)) / width;
      const o = (r * width + c) * dim;
      for (let j = 2; j < dim; j++) xs[o + j] = view.fixed[j];
      xs[o] = x;
      xs[o + 1] = y;
    }
  }
  return xs;
}

/** argmax of each output row (first maximum wins). */
export function classes(outputs, k) {
  const out = new Uint8Array(outputs.length / k);
  for (let i = 0; i < out.length; i++) {
    let best = 0;
    for (let j = 1; j < k; j++) if (outputs[i * k + j] > outputs[i * k + best]) best = j;
    out[i] = best;
  }
  return out;
}

/** 1 where the input satisfies every row a_i·x <= b_i (a region's support rows). */
export function insideMask(A, b, inputs, dim) {
  const count = inputs.length / dim;
  const m = b.length;
  const out = new Uint8Array(count);
  for (let p = 0; p < count; p++) {
    let inside = 1;
    for (let i = 0; i < m && inside; i++) {
      let s = -b[i];
      for (let j = 0; j < dim; j++) s += A[i * dim + j] * inputs[p * dim + j];
      if (s > 0) inside = 0;
    }
    out[p] = inside;
  }
  return out;
}

/** Outline pixels: inside a region with a 4-neighbour (in the picture) outside it. */
export function outlineMask(masks, width, height) {
  const out = new Uint8Array(width * height);
  for (const m of masks) {
    for (let r = 0; r < height; r++) {
      for (let c = 0; c < width; c++) {
        const i = r * width + c;
        if (!m[i]) continue;
        if ((c > 0 && !m[i - 1]) || (c + 1 < width && !m[i + 1]) || (r > 0 && !m[i - width]) || (r + 1 < height && !m[i + width]))
          out[i] = 1;
      }
    }
  }
  return out;
}

/** RGBA pixels: class colours, outline pixels black. */
export function renderPixels(cls, outline) {
  const px = new Uint8ClampedArray(cls.length * 4);
  for (let i = 0; i < cls.length; i++) {
    const col = outline?.[i] ? OUTLINE : PALETTE[cls[i] % PALETTE.length];
    px.set(col, 4 * i);
    px[4 * i + 3] = 255;
  }
  return px;
}

/** Pixels per class. */
export function classCounts(cls, k) {
  const n = new Array(k).fill(0);
  for (const c of cls) n[c]++;
  return n;
}
