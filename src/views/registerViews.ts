import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import {
  CLIENT_CAPABILITIES_META_KEY,
  type ClientCapabilities,
  type McpServer,
  type ServerContext,
} from '@modelcontextprotocol/server';
import { EXTENSION_ID, RESOURCE_MIME_TYPE, registerAppResource } from '@modelcontextprotocol/ext-apps/server';

/**
 * MCP Apps views (the io.modelcontextprotocol/ui extension, SEP-1865): one self-contained HTML
 * page per view, rendered by the host in a sandboxed iframe from the tool's structuredContent.
 * Offered only to clients that declare the extension: others get exactly the lists they got before.
 */
export interface ViewSpec {
  uri: string;
  name: string;
  file: string;
  description: string;
  /** Tools whose results this view renders. */
  tools: string[];
}

export const VIEWS: readonly ViewSpec[] = [
  {
    uri: 'ui://server-audit/tls.html',
    name: 'TLS view',
    file: 'tls.html',
    description: 'One row per target: grade, days left on a timeline, protocols, findings',
    tools: ['check_tls'],
  },
  {
    uri: 'ui://server-audit/health.html',
    name: 'Health view',
    file: 'health.html',
    description:
      'Status, score, gauges and findings by severity with their evidence; from compare_baselines, trend charts',
    tools: ['run_health_check', 'compare_baselines'],
  },
  {
    uri: 'ui://server-audit/bots.html',
    name: 'Bots view',
    file: 'bots.html',
    description:
      'Requests per bucket stacked by client class with hostile bursts marked, top threats, clusters, block rules',
    tools: ['analyze_bots'],
  },
  {
    uri: 'ui://server-audit/slow-queries.html',
    name: 'Slow queries view',
    file: 'slow-queries.html',
    description: 'Top query fingerprints by total time, their count, times, rows examined and flags',
    tools: ['analyze_slow_queries'],
  },
];

/**
 * No network at all: nothing to connect to, nothing to load (hosts build the iframe's CSP from
 * this; empty lists are the spec's "no network"). The pages repeat it in a meta tag.
 */
const UI_RESOURCE_META = { ui: { csp: { connectDomains: [], resourceDomains: [] }, prefersBorder: true } };

/** views/ sits one level above both src/ (tests) and dist/ (built), like package.json. */
const VIEWS_DIR = new URL('../../views/', import.meta.url);

const htmlCache = new Map<string, string>();

/**
 * uPlot (MIT, ~22 KB gzip), the time-series chart library of the Bots and Health views: read
 * from its package (a runtime dependency) and inlined like shared.js, since the CSP lets a page
 * load nothing.
 */
const require = createRequire(import.meta.url);
const LIBRARIES: Record<string, string> = {
  '/*@uplot.js*/': 'uplot/dist/uPlot.iife.min.js',
  '/*@uplot.css*/': 'uplot/dist/uPlot.min.css',
};

/**
 * A view's page as served: its file with the shared bridge/theme code (views/shared.js, .css)
 * inlined, so each resource is one self-contained file. Read once per process.
 */
export function viewHtml(file: string): string {
  let html = htmlCache.get(file);
  if (html === undefined) {
    const read = (name: string) => readFileSync(new URL(name, VIEWS_DIR), 'utf8');
    html = read(file)
      .replace('/*@shared.css*/', () => read('shared.css'))
      .replace('/*@shared.js*/', () => read('shared.js'));
    for (const [marker, file] of Object.entries(LIBRARIES))
      html = html.replace(marker, () => readFileSync(require.resolve(file), 'utf8'));
    htmlCache.set(file, html);
  }
  return html;
}

/** Whether this request's client declared the apps extension with the HTML profile. */
export function declaresApps(server: McpServer, ctx: ServerContext): boolean {
  // 2026-07-28: the request's own envelope (a pooled server may have served another client);
  // 2025: what the session's initialize declared.
  const caps: ClientCapabilities | undefined = ctx.mcpReq.envelope
    ? ((ctx.mcpReq.envelope as Record<string, unknown>)[CLIENT_CAPABILITIES_META_KEY] as
        ClientCapabilities | undefined)
    : server.server.getClientCapabilities();
  const ui = (caps as { extensions?: Record<string, { mimeTypes?: unknown }> } | undefined)?.extensions?.[
    EXTENSION_ID
  ];
  if (!ui) return false;
  // mimeTypes is how a host says which view formats it renders; absent means the default (HTML).
  return !Array.isArray(ui.mimeTypes) || ui.mimeTypes.includes(RESOURCE_MIME_TYPE);
}

type Handler = (request: unknown, ctx: ServerContext) => Promise<Record<string, unknown>>;

/**
 * Registers the view resources and decorates tools/list and resources/list per request. Call it
 * after the tools are registered (it wraps the SDK's list handlers, which read the registries live).
 */
export function registerViews(
  server: McpServer,
  tools: ReadonlyArray<{ name: string; annotations?: { readOnlyHint?: boolean } }>,
): void {
  for (const view of VIEWS) {
    registerAppResource(
      server,
      view.name,
      view.uri,
      { description: view.description, _meta: UI_RESOURCE_META },
      async () => ({
        contents: [
          { uri: view.uri, mimeType: RESOURCE_MIME_TYPE, text: viewHtml(view.file), _meta: UI_RESOURCE_META },
        ],
      }),
    );
  }
  const viewOf = new Map(VIEWS.flatMap((v) => v.tools.map((t) => [t, v.uri] as const)));
  const readOnly = new Map(tools.map((t) => [t.name, t.annotations?.readOnlyHint === true]));
  // The SDK builds both lists without the request's client in view; only the wire answer can
  // differ per client, so its handlers are wrapped (protected accessor: no public getter).
  const proto = server.server as unknown as {
    _getRequestHandler(method: string): Handler | undefined;
    setRequestHandler(method: string, handler: Handler): void;
  };
  const wrap = (method: string, decorate: (result: Record<string, unknown>, apps: boolean) => void) => {
    const inner = proto._getRequestHandler(method);
    // A server built with no tools (some tests) has no tools/list to decorate.
    if (!inner) return;
    proto.setRequestHandler(method, async (request, ctx) => {
      const result = await inner(request, ctx);
      decorate(result, declaresApps(server, ctx));
      return result;
    });
  };
  wrap('tools/list', (result, apps) => {
    if (!apps) return;
    const listed = result.tools as Array<{ name: string; _meta?: Record<string, unknown> }>;
    result.tools = listed.map((t) => {
      const uri = viewOf.get(t.name);
      // Views are read-only: a tool that writes (run_health_check saves a baseline,
      // delete_baselines) is the model's to call, never a view's.
      const visibility = readOnly.get(t.name) ? ['model', 'app'] : ['model'];
      const ui = uri ? { resourceUri: uri, visibility } : { visibility };
      // The legacy flat key too, for hosts that predate `ui.resourceUri` (as registerAppTool does).
      return { ...t, _meta: { ...t._meta, ui, ...(uri ? { 'ui/resourceUri': uri } : {}) } };
    });
  });
  wrap('resources/list', (result, apps) => {
    if (apps) return;
    const listed = result.resources as Array<{ uri: string }>;
    result.resources = listed.filter((r) => !r.uri.startsWith('ui://'));
  });
}
