import { z } from 'zod';
import { defineTool } from './types.js';
import { boundedString } from './schemas.js';

/** The one tool that changes state, hence audit:admin. */
export const deleteBaselinesTool = defineTool({
  name: 'delete_baselines',
  title: 'Delete baselines',
  description: 'Deletes saved baselines by id. Irreversible; needs the audit:admin scope.',
  details:
    'Deletes saved baselines by id (`ids`, 1-100): `deleted` and `notFound`. Irreversible; the only ' +
    'tool that changes state, so it needs the `audit:admin` scope.',
  inputSchema: {
    ids: z.array(boundedString(1, 200)).min(1).max(100),
  },
  outputSchema: {
    deleted: z.array(z.string()),
    notFound: z.array(z.string()),
  },
  scope: 'audit:admin',
  annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: false },
  async handler({ ids }, ctx) {
    const deleted: string[] = [];
    const notFound: string[] = [];
    for (const id of new Set(ids)) {
      ctx.signal.throwIfAborted();
      ((await ctx.baselines.delete(id)) ? deleted : notFound).push(id);
    }
    if (deleted.length > 0) ctx.notify({ method: 'notifications/resources/list_changed' });
    return {
      structured: { deleted, notFound },
      summary:
        `Deleted ${deleted.length} baseline(s)` +
        (notFound.length > 0 ? `; ${notFound.length} not found: ${notFound.slice(0, 5).join(', ')}` : ''),
    };
  },
});
