/** Which build of the core runs: WebAssembly SIMD or scalar (a leaf module, so that raw.ts and the location modules do not import each other). */
export type Flavour = 'simd' | 'scalar';
