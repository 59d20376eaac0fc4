import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Browser, chromium, type FrameLocator, type Page } from 'playwright-core';
import { ROOT } from './servers.js';

/** Where the view tests leave their screenshots (one PNG per view). */
export const ARTIFACTS = join(ROOT, 'test-artifacts', 'views');
const CHROMIUM = '/usr/bin/chromium';

/** Fails under CI when chromium is missing (apt-get install chromium; .ci/run does); else says whether it is there. */
export function requireChromium(): boolean {
  const ok = existsSync(CHROMIUM);
  if (!ok && process.env.CI === 'true')
    throw new Error(`${CHROMIUM} is not installed: apt-get install chromium (.ci/run does)`);
  return ok;
}

/**
 * ext-apps' host-side bridge (AppBridge + PostMessageTransport) bundled for the browser, so the
 * test page talks to the views exactly as a host built on the library does.
 */
async function hostBridgeBundle(): Promise<string> {
  const { build } = await import('rolldown');
  const dir = mkdtempSync(join(tmpdir(), 'view-host-'));
  try {
    const entry = join(ROOT, 'tests', 'helpers', 'viewHostEntry.mjs');
    const file = join(dir, 'bridge.js');
    await build({
      input: entry,
      cwd: ROOT,
      platform: 'browser',
      logLevel: 'silent',
      output: { format: 'iife', file },
    });
    return readFileSync(file, 'utf8');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export interface ViewHost {
  /** Loads `html` in a sandboxed iframe, hands it the call's input and result, waits for `ready`. */
  show(
    html: string,
    call: { name: string; arguments: Record<string, unknown>; result: unknown },
    ready: string,
    opts?: ServeTools,
    /** The host context's theme for this view (default: the host's). */
    theme?: 'light' | 'dark',
  ): Promise<FrameLocator>;
  /** The tools/call requests the view made through the host. */
  calls(): Promise<Array<{ name: string; arguments: Record<string, unknown>; refused: boolean }>>;
  screenshot(name: string): Promise<string>;
  page: Page;
  close(): Promise<void>;
}

/**
 * What a host needs to serve a view's tools/call: the tools as listed to it (their _meta.ui
 * visibility decides what a view may call) and the MCP client that calls them.
 */
export interface ServeTools {
  tools: unknown[];
  callTool(name: string, args: Record<string, unknown>): Promise<unknown>;
}

export async function startViewHost(
  opts: { theme?: 'light' | 'dark'; width?: number } = {},
): Promise<ViewHost> {
  const bundle = await hostBridgeBundle();
  const userDataDir = mkdtempSync(join(tmpdir(), 'view-chromium-'));
  // A persistent context is how playwright takes a user-data-dir; it is fresh per run.
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
    // A narrow chat column.
    viewport: { width: opts.width ?? 420, height: 900 },
  });
  const browser: Browser | null = context.browser();
  const page = context.pages()[0] ?? (await context.newPage());
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  // The views must not reach the network: any request other than the page itself fails the test.
  const requests: string[] = [];
  page.on('request', (r) => {
    if (!r.url().startsWith('about:') && !r.url().startsWith('data:')) requests.push(r.url());
  });
  const theme = opts.theme ?? 'light';
  await page.setContent(
    `<!doctype html><html><body style="margin:0;background:${theme === 'dark' ? '#111' : '#fff'}"><div id="slot"></div></body></html>`,
  );
  await page.addScriptTag({ content: bundle });
  // A view's tools/call leaves the page through this function to the test's real MCP client.
  let serving: ServeTools | undefined;
  await page.exposeFunction('hostCallTool', async (name: string, args: Record<string, unknown>) => {
    if (!serving) throw new Error('this view was shown without a server to call');
    return serving.callTool(name, args);
  });
  return {
    page,
    async show(html, call, ready, opts, viewTheme = theme) {
      serving = opts;
      // The page's script is plain JS (viewHostEntry.mjs): this project's TS has no DOM types.
      await page.evaluate(
        `document.body.style.background = ${JSON.stringify(viewTheme === 'dark' ? '#111' : '#fff')};
         window.showView(${JSON.stringify(html)}, ${JSON.stringify(call)}, ${JSON.stringify(viewTheme)}, ${JSON.stringify(opts?.tools ?? [])})`,
      );
      const frame = page.frameLocator('iframe');
      await frame.locator(ready).first().waitFor({ timeout: 15_000 });
      if (errors.length) throw new Error(`view errors: ${errors.join('; ')}`);
      if (requests.length) throw new Error(`the view reached the network: ${requests.join(', ')}`);
      return frame;
    },
    async calls() {
      return (await page.evaluate('window.viewCalls')) as Array<{
        name: string;
        arguments: Record<string, unknown>;
        refused: boolean;
      }>;
    },
    async screenshot(name) {
      mkdirSync(ARTIFACTS, { recursive: true });
      const path = join(ARTIFACTS, `${name}.png`);
      // Let the size-changed notification land before the shot.
      await page.waitForTimeout(500);
      // The viewport grown to the iframe (as the host sized it) rather than fullPage, which
      // leaves tall iframes blank in headless chromium.
      const width = page.viewportSize()?.width ?? 420;
      // Clicks may have scrolled the page: the shot is of the whole view, from its top.
      await page.evaluate('window.scrollTo(0, 0)');
      const top = await page.locator('iframe').boundingBox();
      if (top) await page.setViewportSize({ width, height: Math.ceil(top.y + top.height) });
      await page.waitForTimeout(300);
      await page.screenshot({ path });
      return path;
    },
    async close() {
      await context.close();
      await browser?.close();
      rmSync(userDataDir, { recursive: true, force: true });
    },
  };
}
