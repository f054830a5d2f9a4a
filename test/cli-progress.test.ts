/**
 * The CLI's progress display (ts/cli/progress.ts) on a simulated terminal, and the summary words
 * (ts/cli/summary.ts) on reports with every kind of patch.
 */
import { describe, expect, it } from 'vitest';
import { formatDuration, Progress } from '../ts/cli/progress.js';
import { minimalityText } from '../ts/cli/summary.js';

/** A minimal terminal: \r, \n, ESC[K (erase to end of line), printable characters; a fixed width that wraps. */
class Terminal {
  lines: string[] = [''];
  col = 0;
  writes: string[] = [];
  constructor(
    readonly columns: number,
    readonly isTTY = true,
  ) {}
  write(s: string) {
    this.writes.push(s);
    for (let i = 0; i < s.length; i++) {
      const ch = s[i];
      const row = this.lines.length - 1;
      if (ch === '\r') this.col = 0;
      else if (ch === '\n') {
        this.lines.push('');
        this.col = 0;
      } else if (ch === '\x1b') {
        // biome-ignore lint/suspicious/noControlCharactersInRegex: the terminal output under test is made of ANSI escape sequences
        const m = /^\x1b\[K/.exec(s.slice(i));
        if (!m) throw new Error(`unexpected escape ${JSON.stringify(s.slice(i, i + 4))}`);
        this.lines[row] = this.lines[row].slice(0, this.col);
        i += m[0].length - 1;
      } else {
        if (this.col >= this.columns) {
          // A real terminal wraps here: the line would be broken in two.
          this.lines.push('');
          this.col = 0;
        }
        const r = this.lines.length - 1;
        const line = this.lines[r].padEnd(this.col, ' ');
        this.lines[r] = line.slice(0, this.col) + ch + line.slice(this.col + 1);
        this.col++;
      }
    }
  }
  get screen() {
    return this.lines;
  }
}

describe('progress on a terminal', () => {
  it('redraws in place: a shorter line after a longer one leaves no remnant; elapsed time and ETA shown', () => {
    let t = 0;
    const term = new Terminal(120);
    const p = new Progress(term, { now: () => t, timer: false });
    p.update({ phase: 'enumerate', done: 10, total: 400 }); // "regions found": long units
    t = 500;
    p.update({ phase: 'enumerate', done: 165, total: 165 });
    t = 600;
    p.update({ phase: 'check', done: 0, total: 165 });
    t = 2600;
    p.update({ phase: 'check', done: 40, total: 165 });
    expect(term.screen).toHaveLength(1);
    // 40 regions in 2 s of this phase: 125 more take 6.25 s.
    expect(term.screen[0]).toBe('[######..................] check: 40/165 regions checked, 2.6 s elapsed, ETA 6.3 s');
    t = 3000;
    p.update({ phase: 'regions', done: 1, total: 2 }); // much shorter than the line before
    expect(term.screen[0]).toBe('[############............] regions: 1/2 regions, 3.0 s elapsed');
    t = 200_000;
    p.update({ phase: 'regions', done: 2, total: 2 });
    expect(term.screen[0]).toBe('[########################] regions: 2/2 regions, 3 min 20 s elapsed');
    p.stop();
    expect(term.screen).toEqual(['']);
    // Only \r, ESC[K and text: never a newline from the bar itself.
    expect(term.writes.join('')).not.toMatch(/\n/);
  });

  it('never wraps on a narrow terminal', () => {
    let t = 0;
    const term = new Terminal(40);
    const p = new Progress(term, { now: () => t, timer: false });
    for (let i = 0; i <= 50; i++) {
      t += 1000;
      p.update({ phase: 'certify', done: i, total: 50 });
    }
    expect(term.screen).toHaveLength(1);
    expect(term.screen[0].length).toBeLessThan(40);
    expect(term.screen[0]).toMatch(/^certify: 50\/50 regions certified, 51 s/);
  });

  it('redraws at most every 100 ms within a phase, but always on a new phase and at the end', () => {
    let t = 0;
    const term = new Terminal(200);
    const p = new Progress(term, { now: () => t, timer: false });
    for (let i = 0; i < 1000; i++) {
      t += 1;
      p.update({ phase: 'regions', done: i, total: 1000 });
    }
    p.update({ phase: 'regions', done: 1000, total: 1000 });
    expect(term.writes.length).toBeLessThanOrEqual(12);
    expect(term.screen[0]).toMatch(/regions: 1000\/1000/);
  });

  it('the clock keeps the elapsed time moving when no event comes (tick)', () => {
    let t = 0;
    const term = new Terminal(200);
    const p = new Progress(term, { now: () => t, timer: false });
    p.update({ phase: 'regions', done: 0, total: 3 });
    t = 5000;
    p.tick();
    expect(term.screen[0]).toMatch(/regions: 0\/3 regions, 5\.0 s elapsed$/);
  });
});

describe('progress in a log (not a terminal)', () => {
  it('one line per phase and one every 10 s, no control characters', () => {
    let t = 0;
    const log = new Terminal(1000, false);
    const p = new Progress(log, { now: () => t, timer: false });
    p.update({ phase: 'enumerate', done: 0, total: 1 });
    for (let i = 1; i <= 100; i++) {
      t += 100;
      p.update({ phase: 'enumerate', done: i, total: i + 5 });
    }
    p.update({ phase: 'check', done: 0, total: 100 });
    for (let i = 1; i <= 100; i++) {
      t += 250; // 25 s in all
      p.update({ phase: 'check', done: i, total: 100 });
    }
    t += 12_000;
    p.tick(); // a long region: the clock logs again after 10 s without a line
    p.update({ phase: 'done', done: 100, total: 100 });
    p.stop();
    const out = log.writes.join('');
    // biome-ignore lint/suspicious/noControlCharactersInRegex: the terminal output under test is made of ANSI escape sequences
    expect(out).not.toMatch(/[\r\x1b]/);
    expect(out.split('\n').filter(Boolean)).toEqual([
      'progress: enumerate: 0/1 regions found, 0.0 s elapsed',
      'progress: enumerate: 100/105 regions found, 10 s elapsed',
      'progress: check: 0/100 regions checked, 10 s elapsed',
      'progress: check: 40/100 regions checked, 20 s elapsed, ETA 15 s',
      'progress: check: 80/100 regions checked, 30 s elapsed, ETA 5.0 s',
      'progress: check: 100/100 regions checked, 47 s elapsed',
    ]);
  });

  it('durations read well', () => {
    expect([0, 950, 12_345, 119_400, 3_725_000].map(formatDuration)).toEqual(['0.0 s', '0.9 s', '12 s', '119 s', '62 min 05 s']);
  });
});

describe('summary words', () => {
  const g = (minimalityProof: string, patchNorm: number, extra: { minimalNorm?: number; cells?: number } = {}) => ({
    minimalityProof,
    patchNorm,
    ...extra,
  });

  it('never says "proven minimal" for enlarged, split or replaced patches', () => {
    const regions = [
      g('constant-patch', 1),
      g('constant-patch', 2, { minimalNorm: 2 }),
      g('full-lp', 3),
      g('band-constrained', 7552, { minimalNorm: 6476 }), // the case
      g('cells', 5, { minimalNorm: 4, cells: 7 }),
      g('cells', 6, { minimalNorm: 1, cells: 3 }),
      g('constant-patch', 9, { minimalNorm: 8 }), // area repair: an affine patch replaced by a constant one
    ];
    const text = minimalityText(regions);
    expect(text).toBe(
      'patches: 3 proven minimal (2 by constant-patch, 1 by full-lp); ' +
        "1 enlarged beyond their region's minimal norm to stay valid where their bands reach other regions (band-constrained; minimalNorm in the report); " +
        '1 affine patch(es) replaced by a larger constant patch that composes soundly (not minimal; minimalNorm in the report); ' +
        '2 region(s) with no constant patch split into 10 cells with constant patches (not minimal; minimalNorm in the report)',
    );
    expect(minimalityText([g('band-constrained', 2, { minimalNorm: 1 })])).not.toMatch(/proven/);
    expect(minimalityText([])).toBe('no patches');
  });
});
