/**
 * Raw bindings to the C-ABI WebAssembly core (crates/wasm; twin of crates/wasm/src/handles.rs).
 * Numbers, UTF-8 JSON and handles cross this boundary, in the layouts of ./abi.ts: inputs are
 * copied into buffers from `rr_alloc`, outputs read back through fresh typed-array views (any
 * call may grow memory and detach older views), buffers are freed in `finally`. A trap discards
 * the instance: callers get a {@link WasmError} and the next call runs on a fresh instance of the
 * same compiled module.
 */
import { EmptySetError, InputError, LpError, WasmError } from '../errors.js';
import { code, type DimsOf, decode, decodeField, type FieldOf, fieldSize, type Layout, type RecordOf, Status, size, Utf8 } from './abi.js';
import type { Flavour } from './flavour.js';
import { packagedWasmUrl } from './location.js';

export type { Flavour } from './flavour.js';

export interface RawExports {
  memory: WebAssembly.Memory;
  rr_alloc(bytes: number): number;
  rr_free(ptr: number, bytes: number): void;
  rr_message_ptr(): number;
  rr_message_len(): number;
  rr_version(): number;
  rr_reserve_memory(bytes: number): number;
  rr_debug_panic(): number;
  rr_release(h: number): number;
  rr_live_objects(): number;
  rr_network_new(shape: number, shapeLen: number, params: number, len: number): number;
  rr_graph_new(shape: number, shapeLen: number, params: number, len: number): number;
  rr_network_info(h: number, out: number): number;
  rr_network_forward(h: number, xs: number, n: number, out: number): number;
  rr_network_patterns(h: number, xs: number, n: number, out: number): number;
  rr_region_new(net: number, x: number, lo: number, hi: number): number;
  rr_region_of_pattern(net: number, pat: number, lo: number, hi: number): number;
  rr_region_intersect(h: number, a: number, b: number, m: number): number;
  rr_region_info(h: number, out: number): number;
  rr_region_read(h: number, what: number, out: number): number;
  rr_region_support_rows(h: number, opts: number, optsLen: number): number;
  rr_region_max_output(h: number, w: number, out: number): number;
  rr_region_maximize(h: number, c: number, out: number): number;
  rr_region_minimal_patch(h: number, p: number, q: number, rows: number, opts: number, optsLen: number, out: number): number;
  rr_slack_excess(a: number, b: number, m: number, n: number, xs: number, npts: number, out: number): number;
  rr_repaired_new(net: number): number;
  rr_repaired_add_patch(h: number, header: number, headerLen: number, params: number, len: number): number;
  rr_repaired_share_rows(h: number, neurons: number, out: number, outLen: number): number;
  rr_repaired_add_shared_patch(h: number, header: number, headerLen: number, params: number, len: number): number;
  rr_repaired_set_box_gate(h: number, lo: number, hi: number, radius: number): number;
  rr_repaired_forward(h: number, xs: number, n: number, out: number): number;
  rr_repaired_supports(h: number, xs: number, n: number, out: number): number;
  rr_repaired_set_composition(h: number, composition: number): number;
  rr_repaired_weights(h: number, xs: number, n: number, out: number): number;
  rr_constant_patch(p: number, q: number, rows: number, k: number, v: number, out: number): number;
  // The fallback of region LPs: another solver's answers certified by the core; the pivot budgets
  rr_region_minimal_patch_from(h: number, p: number, q: number, rows: number, xs: number, ys: number, out: number): number;
  rr_region_certify_max(h: number, c: number, x: number, y: number, out: number): number;
  rr_lp_force_limits(revised: number, rowGeneration: number, bland: number): number;
  // Which bands reach which points and regions (core reach.rs)
  rr_region_max_unless_below(h: number, c: number, threshold: number, out: number): number;
  rr_repaired_forward_at(h: number, xs: number, n: number, off: number, cands: number, ncands: number, out: number): number;
  // Area repair (issue 4): region enumeration and certificates
  rr_enum_new(net: number, lo: number, hi: number, a: number, b: number, m: number, opts: number, optsLen: number): number;
  rr_enum_step(h: number, maxLps: number, out: number): number;
  rr_enum_read(h: number, what: number, from: number, out: number): number;
  rr_certifier_new(
    rep: number,
    lo: number,
    hi: number,
    a: number,
    b: number,
    m: number,
    p: number,
    q: number,
    rows: number,
    pieceRows: number,
    pieces: number,
    opts: number,
    optsLen: number,
  ): number;
  rr_certifier_region(
    h: number,
    pattern: number,
    slack: number,
    piece: number,
    hint: number,
    hintLen: number,
    duals: number,
    dualsLen: number,
    out: number,
  ): number;
  rr_spec_contradiction(p: number, q: number, rows: number, k: number, out: number): number;
  // Bounds and verification (issue 10)
  rr_bounds_compute(net: number, lo: number, hi: number, opts: number, optsLen: number, out: number): number;
  rr_bounds_row(net: number, lo: number, hi: number, c: number, q: number, opts: number, optsLen: number, out: number): number;
  rr_bounds_rows(
    net: number,
    lo: number,
    hi: number,
    c: number,
    q: number,
    rows: number,
    opts: number,
    optsLen: number,
    out: number,
  ): number;
  rr_verify_new(net: number, opts: number, optsLen: number, params: number, len: number): number;
  rr_verify_step(h: number, budget: number, out: number): number;
  rr_verify_expand(h: number, target: number, budget: number, out: number): number;
  rr_verify_leaves(h: number, out: number): number;
  rr_verify_pending(h: number, out: number): number;
  // The boundary checking itself (test/abi.test.ts)
  rr_abi_describe(): number;
  rr_abi_echo_layout(layout: number, dims: number, dimsLen: number, input: number, len: number, out: number): number;
  rr_abi_echo_object(object: number, input: number, len: number): number;
}

/** An input of a call: numbers (copied as f64) or UTF-8 bytes ({@link Utf8}, from abi.json). */
export type Input = ArrayLike<number> | Utf8;

/** Runs an export with the inputs' pointers and lengths (f64 values, or bytes for {@link Utf8}), inputs first, then the outputs'. */
export type Call = (ptrs: number[], lens: number[]) => number;

/** Smallest module that uses a v128 instruction (i32.const 0; i8x16.splat): validates iff SIMD. */
const SIMD_PROBE = new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0, 10, 8, 1, 6, 0, 65, 0, 253, 15, 11]);

export function simdSupported(): boolean {
  try {
    return WebAssembly.validate(SIMD_PROBE);
  } catch {
    return false;
  }
}

const WASM_FILES: Record<Flavour, string> = { simd: 'relu_repair_simd.wasm', scalar: 'relu_repair.wasm' };

declare const __RELU_REPAIR_PKG__: string | undefined;
/** Where pkg/ lives relative to this module: set by the bundler for dist/, else the source tree. */
const PKG_BASE: string = typeof __RELU_REPAIR_PKG__ === 'string' ? __RELU_REPAIR_PKG__ : '../../pkg/';

export function defaultWasmUrl(flavour: Flavour): URL {
  // Bundles (dist/) know where pkg/ is; the slim bundles have no default (see ./location.ts).
  const packaged = packagedWasmUrl(flavour);
  if (packaged === null) {
    throw new WasmError(
      'the slim build of relu-repair has no default location for its WebAssembly core: call init({ wasm: <bytes | URL | WebAssembly.Module> }) first',
    );
  }
  return packaged ?? new URL(PKG_BASE + WASM_FILES[flavour], import.meta.url);
}

async function fetchBytes(url: URL): Promise<Uint8Array> {
  if (url.protocol === 'file:') {
    const fs = await import('node:fs/promises');
    const { fileURLToPath } = await import('node:url');
    const path = fileURLToPath(url);
    try {
      return new Uint8Array(await fs.readFile(path));
    } catch (e) {
      throw new WasmError(`cannot read the WebAssembly core at ${path}: ${(e as Error).message}`, { cause: e });
    }
  }
  const res = await fetch(url);
  if (!res.ok) throw new WasmError(`cannot fetch the WebAssembly core from ${url.href}: HTTP ${res.status}`);
  return new Uint8Array(await res.arrayBuffer());
}

export type WasmSource = BufferSource | WebAssembly.Module | URL | string;

export interface InitOptions {
  /** The core's bytes, a compiled module, or where to load it from. Default: the package's pkg/. */
  wasm?: WasmSource;
  /** Which build to load when `wasm` is not given. Default `auto`: SIMD when the runtime has it. */
  flavour?: Flavour | 'auto';
}

let generationCounter = 0;

export class Core {
  readonly flavour: Flavour;
  readonly coreVersion: string;
  /** Distinguishes instances: handles from an older (trapped) instance are never reused. */
  readonly generation: number;
  private ex: RawExports;
  private dead = false;

  constructor(
    private readonly module: WebAssembly.Module,
    instance: WebAssembly.Instance,
    flavour: Flavour,
  ) {
    this.ex = instance.exports as unknown as RawExports;
    this.generation = ++generationCounter;
    this.guard(() => this.ex.rr_version());
    const meta = JSON.parse(this.message()) as { core: string; simd: boolean };
    this.coreVersion = meta.core;
    this.flavour = meta.simd ? 'simd' : 'scalar';
    if (this.flavour !== flavour) {
      throw new WasmError(`the ${flavour} core reports simd=${meta.simd}; wrong file?`);
    }
  }

  get isDead(): boolean {
    return this.dead;
  }

  /** A fresh instance of the same compiled module (after a trap). */
  respawn(): Core {
    return new Core(this.module, new WebAssembly.Instance(this.module, {}), this.flavour);
  }

  /** Runs an export, turning a trap into a WasmError and retiring this instance. */
  guard<T>(fn: () => T): T {
    if (this.dead) throw new WasmError('this WebAssembly instance trapped earlier and was discarded');
    try {
      return fn();
    } catch (e) {
      if (e instanceof WebAssembly.RuntimeError || e instanceof RangeError) {
        this.dead = true;
        if (current === this) current = undefined;
        throw new WasmError(`the WebAssembly core trapped (${(e as Error).message}); its instance was discarded`, { cause: e });
      }
      throw e;
    }
  }

  message(): string {
    const ptr = this.ex.rr_message_ptr();
    const len = this.ex.rr_message_len();
    return new TextDecoder().decode(new Uint8Array(this.ex.memory.buffer, ptr, len));
  }

  /** Throws the typed error for a negative status. */
  check(status: number, context: string): number {
    if (status >= 0) return status;
    const msg = this.message();
    // A certificate past its piece limit is a limit the caller set (maxPieces): an input error.
    if (status === code(Status, 'invalid') || status === code(Status, 'pieceLimit')) throw new InputError(msg);
    if (status === code(Status, 'lpFailure')) throw new LpError(`${context}: ${msg}`);
    if (status === code(Status, 'empty')) throw new EmptySetError(`${context}: ${msg}`);
    throw new WasmError(`${context}: ${msg}`);
  }

  get exports(): RawExports {
    return this.ex;
  }

  /**
   * Copies `inputs` into linear memory, allocates `outLens` f64 outputs, runs `fn` with the
   * pointers and lengths (inputs first), checks its status and returns the outputs as fresh arrays.
   */
  run(context: string, inputs: Input[], outLens: number[], fn: Call): Float64Array[] {
    return this.exec(context, inputs, outLens, fn).outputs;
  }

  /** Like {@link run} for calls that return a count or a handle (>= 0) instead of outputs. */
  call(context: string, inputs: Input[], fn: Call): number {
    return this.exec(context, inputs, [], fn).status;
  }

  /**
   * Runs an export that writes one layout (./abi.ts) into its last pointer and returns how many
   * values it wrote; decodes it, checking every value and that the count matches the table.
   */
  layout<L extends Layout>(context: string, inputs: Input[], spec: L, dims: DimsOf<L>, fn: Call): RecordOf<L> {
    const { status, outputs } = this.exec(context, inputs, [size(spec, dims)], fn);
    return decode(spec, dims, outputs[0], status);
  }

  /** Like {@link layout} for exports that write one field of a layout (the read exports). */
  field<L extends Layout, N extends FieldOf<L>>(
    context: string,
    spec: L,
    name: N,
    dims: DimsOf<L>,
    fn: Call,
  ): RecordOf<L>[N & keyof RecordOf<L>] {
    const { status, outputs } = this.exec(context, [], [fieldSize(spec, name, dims)], fn);
    return decodeField(spec, name, dims, outputs[0], status);
  }

  private exec(context: string, inputs: Input[], outLens: number[], fn: Call): { status: number; outputs: Float64Array[] } {
    return this.guard(() => {
      const ex = this.ex;
      const lens = [...inputs.map((a) => (a instanceof Utf8 ? a.bytes.length : a.length)), ...outLens];
      const bytes = lens.map((n, i) => Math.max(8, i < inputs.length && inputs[i] instanceof Utf8 ? n : n * 8));
      const ptrs: number[] = [];
      try {
        // Addresses past 2 GiB come back as negative i32: read them unsigned.
        for (const b of bytes) ptrs.push(ex.rr_alloc(b) >>> 0);
        // Views are made after all allocations, since allocation can grow memory.
        inputs.forEach((a, i) => {
          if (a instanceof Utf8) new Uint8Array(ex.memory.buffer, ptrs[i], a.bytes.length).set(a.bytes);
          else new Float64Array(ex.memory.buffer, ptrs[i], a.length).set(a);
        });
        const status = this.check(fn(ptrs, lens), context);
        const outputs = outLens.map((n, j) => new Float64Array(ex.memory.buffer, ptrs[inputs.length + j], n).slice());
        return { status, outputs };
      } finally {
        ptrs.forEach((p, i) => ex.rr_free(p, bytes[i]));
      }
    });
  }

  /** Objects alive in this instance (for leak checks). */
  liveObjects(): number {
    return this.guard(() => this.ex.rr_live_objects());
  }

  release(handle: number): void {
    if (this.dead) return;
    this.guard(() => this.check(this.ex.rr_release(handle), 'release'));
  }
}

let current: Core | undefined;
let pending: Promise<Core> | undefined;
let lastModule: { module: WebAssembly.Module; flavour: Flavour } | undefined;

async function compile(opts: InitOptions): Promise<{ module: WebAssembly.Module; flavour: Flavour }> {
  const requested = opts.flavour ?? 'auto';
  const flavour: Flavour = requested === 'auto' ? (simdSupported() ? 'simd' : 'scalar') : requested;
  if (flavour === 'simd' && !simdSupported()) {
    throw new WasmError('this runtime has no WebAssembly SIMD; use flavour "scalar" or "auto"');
  }
  let src = opts.wasm ?? defaultWasmUrl(flavour);
  if (src instanceof WebAssembly.Module) return { module: src, flavour };
  if (typeof src === 'string') src = new URL(src, typeof location !== 'undefined' ? location.href : import.meta.url);
  const bytes = src instanceof URL ? await fetchBytes(src) : src;
  try {
    return { module: await WebAssembly.compile(bytes as BufferSource), flavour };
  } catch (e) {
    throw new WasmError(`the WebAssembly core does not compile: ${(e as Error).message}`, { cause: e });
  }
}

/**
 * Loads and instantiates the core once. Later calls return the same instance; passing options
 * after the core is loaded is an error (call {@link resetForTests} first in tests).
 */
export async function init(opts: InitOptions = {}): Promise<Core> {
  if (current && !current.isDead) {
    if (opts.wasm !== undefined || (opts.flavour && opts.flavour !== 'auto' && opts.flavour !== current.flavour)) {
      throw new WasmError(`the core is already initialised (${current.flavour}); options can only be given to the first init()`);
    }
    return current;
  }
  if (!pending) {
    pending = (async () => {
      try {
        const { module, flavour } = await compile(opts);
        lastModule = { module, flavour };
        const instance = await WebAssembly.instantiate(module, {});
        current = new Core(module, instance, flavour);
        return current;
      } finally {
        pending = undefined;
      }
    })();
  }
  return pending;
}

/** The initialised core; respawns it synchronously after a trap. */
export function getCore(): Core {
  if (current && !current.isDead) return current;
  if (lastModule) {
    current = new Core(lastModule.module, new WebAssembly.Instance(lastModule.module, {}), lastModule.flavour);
    return current;
  }
  throw new WasmError('the WebAssembly core is not initialised: await init() first');
}

/** Forget the loaded core (tests switch between SIMD and scalar builds with this). */
export function resetForTests(): void {
  current = undefined;
  lastModule = undefined;
  pending = undefined;
}

// --- runtime (issue 6): the worker pool instantiates the main thread's compiled module ---

/** The compiled core module and its flavour, once {@link init} has run. */
export function coreModule(): { module: WebAssembly.Module; flavour: Flavour } | undefined {
  return lastModule;
}
