// Size of each MCP Apps view page as served (shared code inlined), raw and gzip -9.
// Run after `npm run build`: node scripts/view-sizes.mjs
import { gzipSync } from 'node:zlib';
import { VIEWS, viewHtml } from '../dist/views/registerViews.js';

for (const view of VIEWS) {
  const html = Buffer.from(viewHtml(view.file));
  const gz = gzipSync(html, { level: 9 }).length;
  console.log(`${view.uri}\t${html.length} B\t${gz} B gzip`);
}
