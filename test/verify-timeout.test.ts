/**
 * `verify` honours its deadline and its AbortSignal while one large box is being bounded, and
 * during the root box's counterexample search: the core computes a box's symbolic bounds in
 * bounded units across steps (`SymbolicPass`), and searches in bounded units too (`Search`:
 * each step a few network evaluations, state kept between steps); the loop checks the clock
 * and the signal between steps. The network is dense and random,
 * sized so that the root box's bounds take many steps (its forward symbolic pass alone maps
 * 401 columns through three 500-wide operators, about a second of work; compare the core test
 * `a_large_box_is_bounded_across_steps_and_decided_the_same`, which counts the steps).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { AbortError, init, type Network, parseVnnlib, verify } from '../ts/index.js';
import { randomNetwork, rng } from './helpers.js';

const N_IN = 400;
const N_OUT = 5;

/** Output 0 stays below 4 on [−0.5, 0.5]^n (outputs are of order 1; interval bounds are far wider). */
function property() {
  const lines = [];
  for (let j = 0; j < N_IN; j++) lines.push(`(declare-const X_${j} Real)`);
  for (let k = 0; k < N_OUT; k++) lines.push(`(declare-const Y_${k} Real)`);
  for (let j = 0; j < N_IN; j++) lines.push(`(assert (>= X_${j} -0.5))`, `(assert (<= X_${j} 0.5))`);
  lines.push('(assert (>= Y_0 4.0))');
  return parseVnnlib(lines.join('\n'), 'large-box.vnnlib');
}

let net: Network;
/** Few inputs and two 1000-wide layers: bounds in a moment, each evaluation 1M multiply-adds. */
let wide: Network;
beforeAll(async () => {
  await init();
  net = randomNetwork(rng(7), [N_IN, 500, 500, 500, N_OUT]);
  wide = randomNetwork(rng(7), [8, 1000, 1000, N_OUT]);
});

/** Output 0 stays below 4 on [−1, 1]^8: not proven at the root, no counterexample among the first points. */
function searchProperty() {
  const lines = [];
  for (let j = 0; j < 8; j++) lines.push(`(declare-const X_${j} Real)`);
  for (let k = 0; k < N_OUT; k++) lines.push(`(declare-const Y_${k} Real)`);
  for (let j = 0; j < 8; j++) lines.push(`(assert (>= X_${j} -1))`, `(assert (<= X_${j} 1))`);
  lines.push('(assert (>= Y_0 4.0))');
  return parseVnnlib(lines.join('\n'), 'search.vnnlib');
}

// No random points at the root: the time goes to the bounds.
const core = { rootSamples: 0, boxSamples: 0 };

describe('deadline and signal during the bounds of one large box', () => {
  it('a tiny timeoutMs stops within a step', async () => {
    const t0 = performance.now();
    const r = await verify(net, property(), { timeoutMs: 50, core });
    const ms = performance.now() - t0;
    expect(r.status).toBe('timeout');
    // The root box was started and not finished: nothing decided.
    expect(r.stats.boxes).toBe(1);
    expect(r.shares.undecided).toBe(1);
    // A step is about 25 ms (StepBudget); the rest is the setup and the event loop of a busy machine.
    expect(ms).toBeLessThan(50 + 1500);
  });

  it('an AbortSignal fired mid-bounds rejects within a second', async () => {
    const ctl = new AbortController();
    let events = 0;
    const run = verify(net, property(), {
      core,
      signal: ctl.signal,
      onProgress: () => {
        events++;
      },
    });
    // Timed from before the timer: a step that held the event loop would delay the abort itself.
    const t0 = performance.now();
    await new Promise((r) => setTimeout(r, 200));
    ctl.abort();
    await expect(run).rejects.toThrow(AbortError);
    expect(performance.now() - t0).toBeLessThan(200 + 1000);
    // The loop got turns while the root box was bounded (progress events between steps).
    expect(events).toBeGreaterThan(1);
  });
});

// The root search is 16,384 points and 128 descents (about 19,000 evaluations: seconds here).
describe('deadline and signal during the counterexample search at the root', () => {
  it('a timeoutMs stops mid-search', async () => {
    const t0 = performance.now();
    // Long enough for the root's bounds on a busy machine, far shorter than the search.
    const r = await verify(wide, searchProperty(), { timeoutMs: 2000 });
    const ms = performance.now() - t0;
    expect(r.status).toBe('timeout');
    expect(r.stats.boxes).toBe(1);
    // The search was under way (its evaluations are counted as they go), and not finished.
    expect(r.stats.evaluations).toBeGreaterThan(0);
    expect(r.stats.evaluations).toBeLessThan(16_384);
    expect(ms).toBeLessThan(2000 + 1500);
  });

  it('an AbortSignal fired mid-search rejects within a second', async () => {
    const ctl = new AbortController();
    let t0 = 0;
    let seen = 0;
    const run = verify(wide, searchProperty(), {
      signal: ctl.signal,
      onProgress: (e) => {
        // Fired from the progress of a step that left the search under way.
        if (e.evaluations > 0 && !ctl.signal.aborted) {
          seen = e.evaluations;
          t0 = performance.now();
          ctl.abort();
        }
      },
    });
    await expect(run).rejects.toThrow(AbortError);
    expect(seen).toBeGreaterThan(0);
    expect(seen).toBeLessThan(16_384);
    expect(performance.now() - t0).toBeLessThan(1000);
  });
});
