/**
 * Ctrl-C for the whole command: the first SIGINT cancels the running job through its AbortSignal
 * (the library stops at the next region and rejects with AbortError), nothing is written, and the
 * command exits 130 (128 + SIGINT, what shells report for an interrupted program). A second
 * Ctrl-C exits at once. Long work runs under {@link withProgress}.
 */
import { Progress, type ProgressEvent } from './progress.js';

export const EXIT_INTERRUPTED = 130;

export class Interrupt {
  private readonly controller = new AbortController();
  private readonly onSigint = () => {
    if (this.controller.signal.aborted) process.exit(EXIT_INTERRUPTED);
    process.stderr.write('\nrelu-repair: interrupted (Ctrl-C): stopping, nothing will be written (Ctrl-C again quits at once)\n');
    this.controller.abort(new Error('interrupted (SIGINT)'));
  };

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
    return await run((e) => progress?.update(e), interrupt.signal);
  } finally {
    progress?.stop();
  }
}
