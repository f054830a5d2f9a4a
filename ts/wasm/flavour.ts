/** Which build of the core: with WebAssembly SIMD (`relu_repair_simd.wasm`) or without. */
export type Flavour = 'simd' | 'scalar';
