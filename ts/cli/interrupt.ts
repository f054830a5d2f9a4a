/**
 * Ctrl-C for the whole command: during a library job (repair, certify; {@link withProgress}) the
 * first SIGINT cancels it through its AbortSignal (the library stops at the next region and
 * rejects with AbortError), nothing is written, and the command exits 130 (128 + SIGINT, what
 * shells report for an interrupted program); a second Ctrl-C exits at once. Outside such a job
 * (loading, evaluating a data set) Ctrl-C exits 130 at once; outputs are written atomically, so
 * no partial file is left.
 */
import { Progress, type ProgressEvent } from './progress.js';

export const EXIT_INTERRUPTED = 130;

export class Interrupt {
  private readonly controller = new AbortController();
  /** Jobs that take the signal are running (withProgress); other work is simply stopped. */
  private cancellable = 0;
  private readonly onSigint = () => {
    if (this.controller.signal.aborted || this.cancellable === 0) {
      if (!this.controller.signal.aborted) process.stderr.write('\nrelu-repair: interrupted (Ctrl-C)\n');
      process.exit(EXIT_INTERRUPTED);
    }
    process.stderr.write('\nrelu-repair: interrupted (Ctrl-C): stopping, nothing will be written (Ctrl-C again quits at once)\n');
    this.controller.abort(new Error('interrupted (SIGINT)'));
  };

  /** Runs `job` as cancellable: a Ctrl-C during it aborts its signal instead of exiting. */
  async cancellableJob<T>(job: () => Promise<T>): Promise<T> {
    this.cancellable++;
    try {
      return await job();
    } finally {
      this.cancellable--;
    }
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  get interrupted(): boolean {
    return this.controller.signal.aborted;
  }

  install(): void {
    process.on('SIGINT', this.onSigint);
  }

  uninstall(): void {
    process.off('SIGINT', this.onSigint);
  }
}

/** How a command's action hands its work to main(): the work gets the Ctrl-C state and returns the exit code. */
export type CommandRunner = (work: (interrupt: Interrupt) => Promise<number>) => Promise<void>;

/** Runs a library call with a progress display on stderr (unless quiet) and the command's Ctrl-C signal. */
export async function withProgress<T>(
  quiet: boolean | undefined,
  interrupt: Interrupt,
  run: (onProgress: (e: ProgressEvent) => void, signal: AbortSignal) => Promise<T>,
): Promise<T> {
  const progress = quiet ? undefined : new Progress(process.stderr);
  try {
    return await interrupt.cancellableJob(() => run((e) => progress?.update(e), interrupt.signal));
  } finally {
    progress?.stop();
  }
}
