/** A one-line progress bar for TTY stderr. */
export class ProgressBar {
  private last = '';
  constructor(private readonly stream: NodeJS.WriteStream) {}

  update(done: number, total: number, phase: string): void {
    const width = 30;
    const frac = total > 0 ? Math.min(1, done / total) : 1;
    const fill = Math.round(frac * width);
    const line = `[${'#'.repeat(fill)}${'.'.repeat(width - fill)}] ${done}/${total} regions (${phase})`;
    if (line !== this.last) {
      this.stream.write(`\r${line}`);
      this.last = line;
    }
  }

  clear(): void {
    if (this.last) this.stream.write(`\r${' '.repeat(this.last.length)}\r`);
    this.last = '';
  }
}
