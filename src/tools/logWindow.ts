import { z } from 'zod';
import { ToolError } from './types.js';

const isoTime = z.iso.datetime({ offset: true });

/** The time window and read bounds every log-streaming tool takes. */
export function logWindowInput(what: string, defaultMaxLines: number) {
  return {
    since: isoTime.optional().describe(`Only ${what} at or after this time (ISO 8601 with zone)`),
    until: isoTime.optional().describe(`Only ${what} before this time (ISO 8601 with zone)`),
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
      .describe('Stop after reading this many bytes from disk'),
  };
}

/** An empty window is a mistake the caller should hear about, not an empty report. */
export function checkLogWindow(args: { since?: string | undefined; until?: string | undefined }): void {
  if (args.since && args.until && Date.parse(args.since) >= Date.parse(args.until))
    throw new ToolError(`since (${args.since}) must be before until (${args.until})`);
}
