/**
 * Progress on stderr. On a terminal: one line redrawn in place (erased to its end first, so a
 * shorter line never leaves the tail of a longer one behind; cut to the terminal width, so it
 * never wraps) with elapsed time and an ETA. Elsewhere (a log file, CI): one line when a phase
 * starts and then one every 10 s, never control characters.
 */
export interface ProgressEvent {
  phase: string;
  done: number;
  total: number;
}

export interface ProgressSink {
  write(s: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

/** What a phase's units are, for the text ("42/87 regions"). */
const UNITS: Record<string, string> = {
  enumerate: 'regions found',
  check: 'regions checked',
  regions: 'regions',
  certify: 'regions certified',
  assembly: 'patches',
};

export function formatDuration(ms: number): string {
  const s = ms / 1000;
  if (s < 10) return `${s.toFixed(1)} s`;
  if (s < 120) return `${Math.round(s)} s`;
  const m = Math.floor(s / 60);
  return `${m} min ${String(Math.round(s - 60 * m)).padStart(2, '0')} s`;
}

export class Progress {
  private readonly tty: boolean;
  private readonly start: number;
  private phase = '';
  private phaseStart = 0;
  private lastDraw = -Infinity;
  private lastLog = -Infinity;
  private drawn = false;
  private last: ProgressEvent | undefined;
  private timer: ReturnType<typeof setInterval> | undefined;

  /**
   * `timer: false` leaves the clock-driven lines out (tests drive `update` with their own clock);
   * otherwise the elapsed time keeps moving during a long region (redrawn every second on a
   * terminal, logged every 10 s elsewhere) whenever the event loop gets a turn.
   */
  constructor(
    private readonly stream: ProgressSink,
    private readonly opts: { now?: () => number; logEveryMs?: number; redrawEveryMs?: number; timer?: boolean } = {},
  ) {
    this.tty = stream.isTTY === true;
    this.start = this.now();
    if (opts.timer !== false) {
      this.timer = setInterval(() => this.tick(), this.tty ? 1000 : (opts.logEveryMs ?? 10_000));
      (this.timer as { unref?: () => void }).unref?.();
    }
  }

  /** Redraws (terminal) or logs (elsewhere) the last event when no event came for a while. */
  tick(): void {
    const e = this.last;
    if (!e) return;
    const t = this.now();
    if (this.tty) this.draw(e, t);
    else if (t - this.lastLog >= (this.opts.logEveryMs ?? 10_000) - 1) this.log(e, t);
  }

  private draw(e: ProgressEvent, t: number): void {
    this.lastDraw = t;
    const width = 24;
    const frac = e.total > 0 ? Math.min(1, e.done / e.total) : 0;
    const fill = Math.round(frac * width);
    const text = this.text(e, t);
    let line = `[${'#'.repeat(fill)}${'.'.repeat(width - fill)}] ${text}`;
    const cols = this.stream.columns;
    // Narrow terminal: the numbers matter more than the bar; cut, never wrap (a wrapped line
    // cannot be redrawn with \r).
    if (cols && cols > 1 && line.length > cols - 1) line = text.slice(0, cols - 1);
    // \r to the line start, the new text, then erase whatever an older, longer line left.
    this.stream.write(`\r${line}\x1b[K`);
    this.drawn = true;
  }

  private log(e: ProgressEvent, t: number): void {
    this.lastLog = t;
    this.stream.write(`progress: ${this.text(e, t)}\n`);
  }

  private now(): number {
    return (this.opts.now ?? (() => performance.now()))();
  }

  /** The ETA of the current phase from its own rate so far; undefined until there is a rate. */
  private eta(e: ProgressEvent, t: number): number | undefined {
    if (e.done <= 0 || e.total <= e.done || e.phase === 'enumerate') return undefined; // enumeration's total grows as it goes
    const spent = t - this.phaseStart;
    if (spent < 1000) return undefined; // too early for a rate worth printing
    return (spent / e.done) * (e.total - e.done);
  }

  private text(e: ProgressEvent, t: number): string {
    const units = UNITS[e.phase] ?? 'done';
    const eta = this.eta(e, t);
    return `${e.phase}: ${e.done}/${e.total} ${units}, ${formatDuration(t - this.start)} elapsed${eta !== undefined ? `, ETA ${formatDuration(eta)}` : ''}`;
  }

  update(e: ProgressEvent): void {
    if (e.phase === 'done') return; // the command's summary follows
    const t = this.now();
    const newPhase = e.phase !== this.phase;
    if (newPhase) {
      this.phase = e.phase;
      this.phaseStart = t;
    }
    this.last = e;
    if (this.tty) {
      if (newPhase || e.done >= e.total || t - this.lastDraw >= (this.opts.redrawEveryMs ?? 100)) this.draw(e, t);
      return;
    }
    if (newPhase || t - this.lastLog >= (this.opts.logEveryMs ?? 10_000)) this.log(e, t);
  }

  /** Stops the clock and removes the bar (terminal), so what follows starts on a clean line. */
  stop(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
    if (this.tty && this.drawn) this.stream.write('\r\x1b[K');
    this.drawn = false;
  }

  /** Seconds since the start, for the summary. */
  elapsedMs(): number {
    return this.now() - this.start;
  }

  get lastEvent(): ProgressEvent | undefined {
    return this.last;
  }
}
