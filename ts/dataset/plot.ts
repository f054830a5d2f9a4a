/**
 * The per-class accuracy of a comparison as an SVG bar chart (hand-written SVG 1.1, no
 * dependency): one pair of bars per class, before and after, with the values written on top.
 * Accuracies of a good model sit close to 100 %, so the axis starts at a round value below the
 * lowest bar, and says so — a zoomed axis that hid its origin would exaggerate the differences.
 */
import { InputError } from '../errors.js';
import type { Comparison } from './compare.js';

export interface PlotOptions {
  title?: string;
  /** Class names (default: the label numbers). */
  classNames?: readonly string[];
  /** Lowest value of the axis in [0, 1] (default: automatic, a multiple of 5 % below the lowest bar). */
  axisFrom?: number;
}

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
const pct = (v: number) => `${(100 * v).toFixed(2)} %`;

export const PLOT_COLOURS = { before: '#9aa7b8', after: '#2f6db5' } as const;

/** The chart as an SVG document (a string). Needs a labelled comparison. */
export function comparisonSvg(c: Comparison, opts: PlotOptions = {}): string {
  if (!c.perClass || !c.accuracy)
    throw new InputError('the comparison has no labels, so there are no per-class accuracies to plot', { field: 'labels' });
  const classes = c.perClass.filter((p) => p.count > 0);
  const values = classes.flatMap((p) => [p.accuracyBefore as number, p.accuracyAfter as number]);
  const lowest = Math.min(...values);
  const from = opts.axisFrom ?? Math.max(0, Math.floor((lowest - 0.02) * 20) / 20);
  if (!(from >= 0 && from < 1)) throw new InputError('must be in [0, 1)', { field: 'axisFrom', value: from });
  const W = Math.max(480, 90 + classes.length * 64);
  const H = 360;
  const left = 64;
  const right = 16;
  const top = 56;
  const bottom = 56;
  const plotH = H - top - bottom;
  const y = (v: number) => top + plotH * (1 - (Math.max(v, from) - from) / (1 - from));
  const groupW = (W - left - right) / classes.length;
  const barW = Math.min(24, (groupW - 12) / 2);
  const out: string[] = [];
  out.push(`<?xml version="1.0" encoding="UTF-8"?>`);
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="11">`,
  );
  const title =
    opts.title ?? `Accuracy per class: ${pct(c.accuracy.before)} before, ${pct(c.accuracy.after)} after repair (${c.samples} samples)`;
  out.push(`<title>${esc(title)}</title>`);
  out.push(`<rect x="0" y="0" width="${W}" height="${H}" fill="#ffffff"/>`);
  out.push(`<text x="${W / 2}" y="20" text-anchor="middle" font-size="13" font-weight="bold">${esc(title)}</text>`);
  // Axis and grid, every 5 % (or 10 % / 20 % on a long axis).
  const span = 1 - from;
  const step = span > 0.5 ? 0.2 : span > 0.2 ? 0.1 : 0.05;
  for (let v = from; v <= 1 + 1e-9; v += step) {
    const yy = y(v).toFixed(1);
    out.push(`<line x1="${left}" y1="${yy}" x2="${W - right}" y2="${yy}" stroke="#e3e3e3"/>`);
    out.push(`<text x="${left - 6}" y="${yy}" dy="4" text-anchor="end">${Math.round(100 * v)} %</text>`);
  }
  out.push(`<line x1="${left}" y1="${top}" x2="${left}" y2="${top + plotH}" stroke="#333"/>`);
  out.push(`<line x1="${left}" y1="${top + plotH}" x2="${W - right}" y2="${top + plotH}" stroke="#333"/>`);
  if (from > 0) out.push(`<text x="${left}" y="${top - 8}" fill="#a33">axis starts at ${Math.round(100 * from)} %</text>`);
  classes.forEach((p, i) => {
    const cx = left + groupW * (i + 0.5);
    const name = opts.classNames?.[p.label] ?? String(p.label);
    for (const [k, side] of [
      ['before', -1],
      ['after', 0],
    ] as const) {
      const v = (k === 'before' ? p.accuracyBefore : p.accuracyAfter) as number;
      const x = cx + side * barW + (side === 0 ? 1 : -1);
      const yTop = y(v);
      out.push(
        `<rect class="bar ${k}" data-class="${p.label}" data-accuracy="${v}" x="${x.toFixed(1)}" y="${yTop.toFixed(1)}" width="${barW.toFixed(1)}" height="${(top + plotH - yTop).toFixed(1)}" fill="${PLOT_COLOURS[k]}">` +
          `<title>class ${esc(name)} ${k}: ${pct(v)} (${k === 'before' ? p.correctBefore : p.correctAfter}/${p.count})</title></rect>`,
      );
    }
    const d = (p.accuracyAfter as number) - (p.accuracyBefore as number);
    const label = d === 0 ? '±0' : `${d > 0 ? '+' : '−'}${(100 * Math.abs(d)).toFixed(2)}`;
    out.push(
      `<text x="${cx.toFixed(1)}" y="${(y(Math.max(p.accuracyBefore as number, p.accuracyAfter as number)) - 5).toFixed(1)}" text-anchor="middle" fill="${d < 0 ? '#a33' : d > 0 ? '#1f6d2f' : '#555'}">${label}</text>`,
    );
    out.push(`<text x="${cx.toFixed(1)}" y="${top + plotH + 16}" text-anchor="middle">${esc(name)}</text>`);
    out.push(`<text x="${cx.toFixed(1)}" y="${top + plotH + 29}" text-anchor="middle" fill="#777" font-size="9">n=${p.count}</text>`);
  });
  // Legend.
  const ly = H - 12;
  out.push(
    `<rect x="${left}" y="${ly - 9}" width="10" height="10" fill="${PLOT_COLOURS.before}"/><text x="${left + 14}" y="${ly}">before repair</text>`,
  );
  out.push(
    `<rect x="${left + 110}" y="${ly - 9}" width="10" height="10" fill="${PLOT_COLOURS.after}"/><text x="${left + 124}" y="${ly}">after repair</text>`,
  );
  out.push(`<text x="${W - right}" y="${ly}" text-anchor="end" fill="#555">change in percentage points above each pair</text>`);
  out.push('</svg>');
  return out.join('\n') + '\n';
}
