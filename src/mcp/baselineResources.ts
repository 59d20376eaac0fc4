import { type McpServer, ResourceNotFoundError, ResourceTemplate } from '@modelcontextprotocol/server';
import type { BaselineStore } from '../baselines/types.js';

const LIST_URI = 'audit://baselines';
const LIST_LIMIT = 200;

/**
 * Stored baselines as MCP resources: the list (newest first, capped) and each one by id, so a
 * client can attach a baseline to the conversation or hand its id to compare_baselines.
 */
export function registerBaselineResources(server: McpServer, store: BaselineStore): void {
  server.registerResource(
    'baselines',
    LIST_URI,
    {
      title: 'Health-check baselines',
      description: `Saved run_health_check results, newest first (at most ${LIST_LIMIT}).`,
      mimeType: 'application/json',
    },
    async (uri) => {
      const items = await store.list({ limit: LIST_LIMIT });
      return {
        contents: [
          {
            uri: uri.href,
            mimeType: 'application/json',
            text: JSON.stringify({ baselines: items }, null, 2),
          },
        ],
      };
    },
  );

  server.registerResource(
    'baseline',
    new ResourceTemplate(`${LIST_URI}/{id}`, {
      list: async () => ({
        resources: (await store.list({ limit: LIST_LIMIT })).map((b) => ({
          uri: `${LIST_URI}/${b.id}`,
          name: b.id,
          title: `${b.createdAt} ${b.status} (${b.score})${b.label ? ` ${b.label}` : ''}`,
          mimeType: 'application/json',
        })),
      }),
    }),
    {
      title: 'One baseline',
      description: 'A saved health-check result: metrics and findings.',
      mimeType: 'application/json',
    },
    async (uri, { id }) => {
      const baseline = typeof id === 'string' ? await store.get(decodeURIComponent(id)) : undefined;
      if (!baseline)
        throw new ResourceNotFoundError(
          uri.href,
          `Baseline ${String(id)} not found; read ${LIST_URI} for the saved ones`,
        );
      return {
        contents: [{ uri: uri.href, mimeType: 'application/json', text: JSON.stringify(baseline, null, 2) }],
      };
    },
  );
}
