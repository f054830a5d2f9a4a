/** The slim bundles: no default location; init({ wasm }) is required. */
import type { Flavour } from './flavour.js';

export function packagedWasmUrl(_flavour: Flavour): null {
  return null;
}

/** The Node pool worker, next to the bundle. */
export function nodeWorkerUrl(): URL {
  return new URL('./worker.node.js', import.meta.url);
}
