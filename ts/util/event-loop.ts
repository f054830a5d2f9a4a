/**
 * Long synchronous work (LPs in the core, region after region) must let the event loop run now and
 * then: an AbortSignal (a timeout, Ctrl-C) can only fire, and progress output only appear, between
 * two macrotasks.
 */

/** Yields to the event loop (a macrotask, not a microtask: timers and abort events run). */
export function yieldToEventLoop(): Promise<void> {
  if (typeof setImmediate === 'function') return new Promise((r) => setImmediate(r));
  return new Promise((r) => setTimeout(r, 0));
}

/**
 * A function to call between work items: it yields to the event loop once `everyMs` have passed
 * since the last yield (or since it was made), and otherwise returns at once.
 */
export function periodicYield(everyMs = 20): () => Promise<void> {
  let last = performance.now();
  return async () => {
    if (performance.now() - last > everyMs) {
      await yieldToEventLoop();
      last = performance.now();
    }
  };
}
