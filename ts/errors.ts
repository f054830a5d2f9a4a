/**
 * Every failure reaches callers as a subclass of {@link ReluRepairError}, with a message written
 * where the failure is understood. Input errors name the file, the field and the offending value.
 */

export class ReluRepairError extends Error {
  /** Stable machine-readable code. */
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

export interface InputLocation {
  /** File the bad value came from, if any. */
  file?: string;
  /** Dotted path of the field inside it (`points[3][1]`, `layers[2].bias`). */
  field?: string;
  /** The offending value (rendered into the message). */
  value?: unknown;
}

function renderValue(v: unknown): string {
  if (typeof v === 'number') return Number.isNaN(v) ? 'NaN' : String(v);
  if (typeof v === 'string') return JSON.stringify(v.length > 60 ? v.slice(0, 57) + '...' : v);
  try {
    const s = JSON.stringify(v);
    if (s === undefined) return String(v);
    return s.length > 60 ? s.slice(0, 57) + '...' : s;
  } catch {
    return String(v);
  }
}

/** Malformed file, wrong dimension, NaN, out-of-range label, empty spec, ... */
export class InputError extends ReluRepairError {
  readonly file?: string;
  readonly field?: string;
  readonly value?: unknown;
  constructor(message: string, where: InputLocation = {}, options?: { cause?: unknown }) {
    const parts: string[] = [];
    if (where.file !== undefined) parts.push(where.file);
    if (where.field !== undefined) parts.push(where.field);
    let full = parts.length ? `${parts.join(': ')}: ${message}` : message;
    if ('value' in where) full += ` (got ${renderValue(where.value)})`;
    super('INVALID_INPUT', full, options);
    this.file = where.file;
    this.field = where.field;
    this.value = where.value;
  }
}

/** An LP could not be solved to a certified optimum: a solver failure, never a proof that a set is empty. */
export class LpError extends ReluRepairError {
  /** The code of this class (subclasses set their own). */
  static readonly CODE: string = 'LP_FAILED';
  constructor(message: string, options?: { cause?: unknown }) {
    super((new.target as typeof LpError).CODE, message, options);
  }
}

/**
 * The set an LP was about (a region, a cell, a band's intersection with a region) is empty, proven
 * by a verified Farkas certificate in the core. A subclass of {@link LpError}, so that code that
 * only needs "no answer" catches both; code that reads an outcome as "empty" must catch this one.
 */
export class EmptySetError extends LpError {
  static override readonly CODE: string = 'LP_EMPTY';
}

/** The WebAssembly core is missing, not initialised, or trapped (its instance is discarded). */
export class WasmError extends ReluRepairError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('WASM', message, options);
  }
}

/** A repaired network failed its own post-repair check. */
export class RepairError extends ReluRepairError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('REPAIR_FAILED', message, options);
  }
}

/** The caller's AbortSignal fired. */
export class AbortError extends ReluRepairError {
  constructor(reason?: unknown) {
    super(
      'ABORTED',
      `repair cancelled${reason instanceof Error ? `: ${reason.message}` : reason !== undefined ? `: ${String(reason)}` : ''}`,
    );
  }
}

export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new AbortError(signal.reason);
}
