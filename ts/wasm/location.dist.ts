/** dist/: the wasm files are in ../pkg/ next to dist/. Literal `new URL(...)` for bundlers. */
import type { Flavour } from './flavour.js';

export function packagedWasmUrl(flavour: Flavour): URL {
  return flavour === 'simd'
    ? new URL('../pkg/relu_repair_simd.wasm', import.meta.url)
    : new URL('../pkg/relu_repair.wasm', import.meta.url);
}

/** The Node pool worker, next to the bundle. */
export function nodeWorkerUrl(): URL {
  return new URL('./worker.node.js', import.meta.url);
}
