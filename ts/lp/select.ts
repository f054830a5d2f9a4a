/** LP backends by name, so that a choice can travel to worker threads as plain data. */
import { InputError } from '../errors.js';
import type { LpBackend } from './backend.js';
import { GlpkBackend } from './glpk.js';
import { HighsBackend } from './highs.js';

export type LpName = 'glpk' | 'highs';
export const LP_NAMES: readonly LpName[] = ['glpk', 'highs'];

export function backendByName(name: string, field = 'lp'): LpBackend {
  if (name === 'glpk') return new GlpkBackend();
  if (name === 'highs') return new HighsBackend();
  throw new InputError(`unknown LP backend (expected ${LP_NAMES.map((n) => `"${n}"`).join(' or ')})`, { field, value: name });
}
