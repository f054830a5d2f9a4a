/**
 * A comlink worker pool for independent per-region work (METHOD.md §2: each linear region's
 * minimal patch depends only on the network, the region's anchor point and its spec).
 *
 * - Node: worker_threads; browsers and Deno: module Web Workers. Every worker instantiates the
 *   main thread's compiled WebAssembly module (same flavour, same bits) and receives the network
 *   once per job; tasks are handed out one at a time to whichever worker is free, and results
 *   are put back in task order, so a pooled repair is bit for bit the one-thread repair.
 * - A worker whose core traps, or that dies, is terminated and replaced; the job fails with a
 *   {@link WasmError} naming the worker and the region. Other typed errors (InputError, LpError,
 *   ...) are rebuilt as the same classes.
 * - An AbortSignal rejects the job with {@link AbortError} at once: pending tasks are dropped and
 *   busy workers (whose synchronous wasm cannot be interrupted) are terminated and replaced.
 */
import * as Comlink from 'comlink/dist/esm/comlink.mjs';
import type { BoxOutcome, BoxTask } from '../box-job.js';
import { AbortError, InputError, ReluRepairError, WasmError } from '../errors.js';
import type { Network } from '../network.js';
import type { RegionOutcome, RegionTask } from '../region-job.js';
import { coreModule, type Flavour, init } from '../wasm/raw.js';
import { type DebugFault, deserializeError, type SerializedError, type WorkerApi } from './protocol.js';
import { type Platform, runtimeKind, type WorkerHandle, webPlatform } from './spawn.js';

export interface PoolOptions {
  /** Number of workers. Default: the hardware threads, at most 8. */
  size?: number;
  /**
   * The worker script, if not the package's own (`dist/worker.node.js` on Node,
   * `dist/worker.web.js` in browsers and Deno), e.g. when a bundler or a CSP moves it.
   */
  workerUrl?: URL | string;
}

export interface PoolJobOptions<O = RegionOutcome> {
  signal?: AbortSignal;
  /** Called as each task finishes (in completion order): its index and how many are done. */
  onResult?: (index: number, outcome: O, done: number) => void;
}

/** A worker's reply to one task of any kind. */
type Reply<O> = { ok: true; outcome: O; lpName?: string } | { ok: false; error: SerializedError };

export interface PoolJobResult {
  /** One outcome per task, in task order. */
  outcomes: RegionOutcome[];
  /** The LP backend's name as the workers report it (for the repair report). */
  lpName?: string;
}

interface Slot {
  id: number;
  handle: WorkerHandle;
  api: Comlink.Remote<WorkerApi>;
  ready: Promise<void>;
  /** Rejects (with a WasmError) when the worker fails outside a call. */
  failure: Promise<never>;
  jobs: Set<number>;
  /** Calls in flight (a failed job's late replies can overlap the next job's first task). */
  busy: number;
}

let platformPromise: Promise<Platform> | undefined;

async function loadPlatform(): Promise<Platform> {
  platformPromise ??= (async () => {
    const kind = runtimeKind();
    if (kind === 'node') return (await import('./spawn-node.js')).loadNodePlatform();
    if (kind === 'deno' || kind === 'browser') return webPlatform(kind);
    throw new WasmError('this runtime has no worker threads (no Web Worker, no node:worker_threads): repair without a pool');
  })();
  return platformPromise;
}

export class RepairPool {
  readonly size: number;
  /** Workers started in all, and how many of them replaced a failed or cancelled one. */
  readonly stats = { started: 0, replaced: 0 };
  private slots: (Slot | undefined)[];
  private nextJob = 1;
  private nextWorker = 1;
  private closed = false;
  private queue: Promise<unknown> = Promise.resolve();
  private faults = new Map<number, DebugFault>();

  private constructor(
    private readonly platform: Platform,
    size: number,
    private readonly workerUrl: URL | string | undefined,
    private readonly module: { module: WebAssembly.Module; flavour: Flavour },
  ) {
    this.size = size;
    this.slots = new Array(size).fill(undefined);
  }

  /** Starts a pool (workers are spawned on first use). Initialises the core if needed. */
  static async create(opts: PoolOptions = {}): Promise<RepairPool> {
    const platform = await loadPlatform();
    const size = opts.size ?? Math.max(1, Math.min(8, platform.concurrency()));
    if (!(Number.isInteger(size) && size >= 1 && size <= 256))
      throw new InputError('must be an integer from 1 to 256', { field: 'workers', value: opts.size });
    await init();
    const mod = coreModule();
    if (!mod) throw new WasmError('the WebAssembly core is not initialised');
    return new RepairPool(platform, size, opts.workerUrl, mod);
  }

  /** Which runtime's workers this pool runs (`node`, `deno` or `browser`). */
  get runtime(): string {
    return this.platform.kind;
  }

  /** The wasm flavour every worker runs (the main thread's). */
  get flavour(): Flavour {
    return this.module.flavour;
  }

  /** Workers alive now. */
  get alive(): number {
    return this.slots.filter(Boolean).length;
  }

  /**
   * Testing only: the next job makes its task `task` fail in the worker, by a real wasm trap
   * (`trap`) or by an uncaught error that kills the worker without a reply (`crash`).
   */
  injectFaultForTesting(task: number, fault: DebugFault): void {
    this.faults.set(task, fault);
  }

  private spawn(index: number, replacing: boolean): Slot {
    const handle = this.platform.spawn(this.workerUrl);
    const id = this.nextWorker++;
    this.stats.started++;
    if (replacing) this.stats.replaced++;
    const api = Comlink.wrap<WorkerApi>(handle.endpoint);
    const failure = new Promise<never>((_, reject) => handle.onFailure((m) => reject(new WasmError(`worker ${id}: ${m}`))));
    failure.catch(() => {});
    const ready = Promise.race([
      (async () => {
        const flavour = await api.init(this.module.module, this.module.flavour);
        if (flavour !== this.module.flavour)
          throw new WasmError(`worker ${id} runs the ${flavour} core, the main thread the ${this.module.flavour} core`);
      })(),
      failure,
    ]);
    ready.catch(() => {});
    handle.setBusy(false);
    const slot: Slot = { id, handle, api, ready, failure, jobs: new Set(), busy: 0 };
    this.slots[index] = slot;
    // A worker that dies while idle is retired at once; the next job starts a new one.
    failure.catch(() => {
      const i = this.slots.indexOf(slot);
      if (i >= 0 && slot.busy === 0) {
        this.retire(i, false);
        this.stats.replaced++;
      }
    });
    return slot;
  }

  /** Terminates a worker; with `replace`, starts a fresh one in its place. */
  private retire(index: number, replace: boolean): void {
    const slot = this.slots[index];
    if (!slot) return;
    slot.handle.terminate();
    this.slots[index] = undefined;
    if (replace && !this.closed) this.spawn(index, true);
  }

  /** Solves every task in the workers; outcomes come back in task order. Jobs run one at a time. */
  solveAll(network: Network, tasks: readonly RegionTask[], opts: PoolJobOptions = {}): Promise<PoolJobResult> {
    const run = this.queue.then(() =>
      this.runJob<RegionTask, RegionOutcome>(network, tasks, opts, (api, job, task, fault) => api.solve(job, task, fault)),
    );
    this.queue = run.catch(() => {});
    return run;
  }

  /** Runs branch-and-bound jobs (ts/box-job.ts) in the workers; outcomes come back in task order. */
  solveBoxes(network: Network, tasks: readonly BoxTask[], opts: PoolJobOptions<BoxOutcome> = {}): Promise<BoxOutcome[]> {
    const run = this.queue.then(() =>
      this.runJob<BoxTask, BoxOutcome>(network, tasks, opts, (api, job, task, fault) => api.solveBox(job, task, fault)),
    );
    this.queue = run.catch(() => {});
    return run.then((r) => r.outcomes);
  }

  private runJob<T, O>(
    network: Network,
    tasks: readonly T[],
    opts: PoolJobOptions<O>,
    call: (api: Comlink.Remote<WorkerApi>, job: number, task: T, fault?: DebugFault) => Promise<Reply<O>>,
  ): Promise<{ outcomes: O[]; lpName?: string }> {
    if (this.closed) return Promise.reject(new WasmError('this worker pool is closed'));
    const { signal } = opts;
    if (signal?.aborted) return Promise.reject(new AbortError(signal.reason));
    const job = this.nextJob++;
    const faults = this.faults;
    this.faults = new Map();
    const outcomes: O[] = new Array(tasks.length);
    let lpName: string | undefined;
    let next = 0;
    let done = 0;
    const graph = network.graph;
    const info = {
      source: network.info.source,
      inputBox: network.info.inputBox ? { lower: [...network.info.inputBox.lower], upper: [...network.info.inputBox.upper] } : undefined,
    };
    const used = new Set<Slot>();

    return new Promise<{ outcomes: O[]; lpName?: string }>((resolve, reject) => {
      let settled = false;
      const finish = (err?: unknown) => {
        if (settled) return;
        settled = true;
        signal?.removeEventListener('abort', onAbort);
        for (const slot of used) {
          if (this.slots.includes(slot) && slot.jobs.delete(job)) slot.api.dropNetwork(job).catch(() => {});
        }
        if (err) reject(err);
        else resolve({ outcomes, lpName });
      };
      const onAbort = () => {
        // Busy workers are deep in synchronous wasm: only terminating them frees the thread.
        this.slots.forEach((s, i) => {
          if (s && s.busy > 0 && used.has(s)) this.retire(i, true);
        });
        finish(new AbortError(signal!.reason));
      };
      signal?.addEventListener('abort', onAbort, { once: true });

      const runTask = async (slot: Slot, i: number): Promise<Reply<O>> => {
        await slot.ready;
        if (!slot.jobs.has(job)) {
          slot.jobs.add(job);
          await Promise.race([slot.api.setNetwork(job, graph, info), slot.failure]);
        }
        return Promise.race([call(slot.api, job, tasks[i], faults.get(i)), slot.failure]);
      };

      const pump = (index: number) => {
        if (settled) return;
        if (next >= tasks.length) {
          if (done === tasks.length) finish();
          return;
        }
        let slot: Slot;
        try {
          slot = this.slots[index] ?? this.spawn(index, false);
        } catch (e) {
          finish(new WasmError(`cannot start a worker: ${(e as Error)?.message ?? e}`, { cause: e }));
          return;
        }
        used.add(slot);
        const i = next++;
        slot.busy++;
        slot.handle.setBusy(true);
        runTask(slot, i).then(
          (reply) => {
            slot.busy--;
            slot.handle.setBusy(slot.busy > 0);
            if (settled) return;
            if (!reply.ok) {
              const err = deserializeError(reply.error, `worker ${slot.id}, region ${i}`);
              // A trapped core may have left its instance in any state: replace the worker.
              if (err instanceof WasmError) this.retire(index, true);
              finish(err);
              return;
            }
            outcomes[i] = reply.outcome;
            if (reply.lpName !== undefined) lpName = reply.lpName;
            done++;
            try {
              opts.onResult?.(i, reply.outcome, done);
            } catch (e) {
              finish(e);
              return;
            }
            pump(index);
          },
          (e: unknown) => {
            slot.busy--;
            if (this.slots[index] === slot) this.retire(index, true);
            if (settled) return;
            finish(
              e instanceof ReluRepairError
                ? e
                : new WasmError(`worker ${slot.id}, region ${i}: ${(e as Error)?.message ?? e}`, { cause: e }),
            );
          },
        );
      };

      if (tasks.length === 0) {
        finish();
        return;
      }
      for (let s = 0; s < Math.min(this.size, tasks.length); s++) pump(s);
    });
  }

  /** Terminates every worker. The pool cannot be used afterwards. */
  async close(): Promise<void> {
    this.closed = true;
    this.slots.forEach((_, i) => this.retire(i, false));
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

/** A worker pool (see {@link RepairPool}). */
export function createPool(opts: PoolOptions = {}): Promise<RepairPool> {
  return RepairPool.create(opts);
}

/**
 * The `workers` option of repair(): a pool to use, or a number of workers for this call only.
 * Progress is reported per finished region.
 */
export async function solveInWorkers(
  network: Network,
  tasks: readonly RegionTask[],
  workers: RepairPool | number,
  opts: { signal?: AbortSignal; onProgress?: (done: number) => void },
): Promise<PoolJobResult> {
  const own = typeof workers === 'number';
  if (own && !(Number.isInteger(workers) && workers >= 1 && workers <= 256))
    throw new InputError('must be a RepairPool or an integer from 1 to 256', { field: 'workers', value: workers });
  if (!own && typeof (workers as Partial<RepairPool>)?.solveAll !== 'function')
    throw new InputError('must be a RepairPool or a number of workers', { field: 'workers', value: String(workers) });
  const pool = own ? await RepairPool.create({ size: Math.min(workers as number, Math.max(1, tasks.length)) }) : (workers as RepairPool);
  const main = coreModule();
  if (main && pool.flavour !== main.flavour) {
    throw new WasmError(
      `the pool's workers run the ${pool.flavour} core, this thread the ${main.flavour} core: create the pool after init()`,
    );
  }
  try {
    return await pool.solveAll(network, tasks, { signal: opts.signal, onResult: (_, __, done) => opts.onProgress?.(done) });
  } finally {
    if (own) await pool.close();
  }
}
