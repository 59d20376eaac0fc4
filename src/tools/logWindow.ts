import { z } from 'zod';
import { isoDateTime as isoTime } from './schemas.js';
import { type ToolContext, ToolError } from './types.js';

/** The time window and read bounds every log-streaming tool takes. */
export function logWindowInput(what: string, defaultMaxLines: number) {
  return {
    since: isoTime.optional().describe(`Only ${what} from this ISO 8601 time`),
    until: isoTime.optional().describe(`Only ${what} before this ISO 8601 time`),
    maxLines: z
      .number()
      .int()
      .min(1)
      .max(2_000_000_000)
      .default(defaultMaxLines)
      .describe('Stop after this many lines'),
    maxBytes: z
      .number()
      .int()
      .min(1)
      .max(1024 ** 4)
      .default(20 * 1024 ** 3)
      .describe('Stop after this many bytes read'),
  };
}

/** An empty window is a mistake the caller should hear about, not an empty report. */
export function checkLogWindow(args: { since?: string | undefined; until?: string | undefined }): void {
  if (args.since && args.until && Date.parse(args.since) >= Date.parse(args.until))
    throw new ToolError(`since (${args.since}) must be before until (${args.until})`);
}

/**
 * One log read's limits (maxLines, maxBytes, TOOL_DEADLINE_SECONDS) and its progress reports,
 * shared by the log-streaming tools. The first limit reached is why the result is partial.
 */
export class LogReadBudget {
  stoppedBecause: string | null = null;
  bytesRead = 0;
  readonly deadline: number;
  private lastProgress = 0;

  constructor(
    private readonly args: { maxLines: number; maxBytes: number },
    private readonly ctx: ToolContext,
    readonly totalBytes: number,
  ) {
    this.deadline = Date.now() + ctx.config.TOOL_DEADLINE_SECONDS * 1000;
  }

  /** After each counted line. */
  countedLines(lines: number): void {
    if (lines >= this.args.maxLines) this.stoppedBecause = `maxLines (${this.args.maxLines}) reached`;
  }

  /** The reader's bytes callback: maxBytes, and every 500 ms the deadline and a progress report. */
  bytes(n: number, progressMessage: () => string): void {
    this.bytesRead += n;
    if (this.bytesRead >= this.args.maxBytes)
      this.stoppedBecause = `maxBytes (${this.args.maxBytes}) reached`;
    const now = Date.now();
    if (now - this.lastProgress < 500) return;
    this.lastProgress = now;
    if (now > this.deadline)
      this.stoppedBecause = `deadline of ${this.ctx.config.TOOL_DEADLINE_SECONDS} s reached`;
    void this.ctx.progress(this.bytesRead, this.totalBytes, progressMessage()).catch(() => undefined);
  }
}
