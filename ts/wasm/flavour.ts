/** Which build of the core runs: WebAssembly SIMD (`relu_repair_simd.wasm`) or scalar (a leaf module, so that raw.ts and the location modules do not import each other). */
export type Flavour = 'simd' | 'scalar';
