// The view side of the MCP Apps bridge (SEP-1865): JSON-RPC 2.0 over postMessage with the host.
// Hand-written rather than ext-apps' App class: that bundle is ~540 KB with its dependencies, and
// a view needs four messages. Inlined into each page at serve time (src/views/registerViews.ts).
/* exported Bridge, h, findingList, countChips, SEVERITY_ORDER */
'use strict';
const Bridge = (() => {
  let nextId = 1;
  const pending = new Map();
  const handlers = {};
  const send = (msg) => window.parent.postMessage({ jsonrpc: '2.0', ...msg }, '*');
  const request = (method, params) =>
    new Promise((resolve, reject) => {
      const id = nextId++;
      pending.set(id, { resolve, reject });
      send({ id, method, params });
    });
  const notify = (method, params) => send({ method, params });
  window.addEventListener('message', (event) => {
    // Only the embedding host speaks to us.
    if (event.source !== window.parent) return;
    const m = event.data;
    if (!m || m.jsonrpc !== '2.0') return;
    if (m.id !== undefined && !m.method) {
      const p = pending.get(m.id);
      if (!p) return;
      pending.delete(m.id);
      if (m.error) p.reject(new Error(m.error.message));
      else p.resolve(m.result);
      return;
    }
    if (m.method === 'ui/resource-teardown' && m.id !== undefined) return send({ id: m.id, result: {} });
    const h = handlers[m.method];
    if (h) h(m.params || {});
    else if (m.id !== undefined) send({ id: m.id, error: { code: -32601, message: 'Method not found' } });
  });
  function applyContext(ctx) {
    if (!ctx) return;
    if (ctx.theme) document.documentElement.dataset.theme = ctx.theme;
    const vars = ctx.styles && ctx.styles.variables;
    if (vars)
      for (const [k, v] of Object.entries(vars))
        if (/^--[\w-]+$/.test(k) && typeof v === 'string') document.documentElement.style.setProperty(k, v);
  }
  handlers['ui/notifications/host-context-changed'] = applyContext;
  /** Starts the handshake; onResult gets each tool result, onInput the call's arguments. */
  function start(name, { onResult, onInput }) {
    handlers['ui/notifications/tool-result'] = (result) => onResult(result);
    if (onInput) handlers['ui/notifications/tool-input'] = (p) => onInput(p.arguments || {});
    request('ui/initialize', {
      appInfo: { name, version: '1' },
      appCapabilities: {},
      protocolVersion: '2026-01-26',
    }).then((r) => {
      applyContext(r && r.hostContext);
      notify('ui/notifications/initialized', {});
    });
    // The host sizes the iframe to the content.
    new ResizeObserver(() =>
      notify('ui/notifications/size-changed', {
        width: document.documentElement.scrollWidth,
        height: document.documentElement.scrollHeight,
      }),
    ).observe(document.body);
  }
  return { start, request };
})();

/** An element with attributes and children; text goes in as text (never HTML: targets are untrusted). */
function h(tag, attrs, ...children) {
  const svg = ['svg', 'rect', 'line', 'text', 'circle', 'path', 'polyline', 'g', 'title'].includes(tag);
  const e = svg ? document.createElementNS('http://www.w3.org/2000/svg', tag) : document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {}))
    if (v !== undefined && v !== null) e.setAttribute(k, String(v));
  for (const c of children.flat())
    if (c !== undefined && c !== null && c !== false)
      e.append(typeof c === 'object' ? c : document.createTextNode(String(c)));
  return e;
}
const SEVERITY_ORDER = ['critical', 'high', 'medium', 'low', 'info'];
function findingList(findings) {
  if (!findings || findings.length === 0) return h('div', { class: 'empty' }, 'No findings');
  return h(
    'div',
    { class: 'findings' },
    findings.map((f) =>
      h(
        'details',
        { 'data-finding': f.id },
        h('summary', {}, h('span', { class: `badge sev-${f.severity}` }, f.severity), ' ', f.title),
        h('div', { class: 'muted' }, 'Evidence'),
        h('pre', {}, f.evidence || ''),
        h('div', { class: 'muted' }, 'Recommendation'),
        h('pre', {}, f.recommendation || ''),
      ),
    ),
  );
}
function countChips(counts) {
  return h(
    'div',
    { class: 'chips' },
    SEVERITY_ORDER.filter((s) => counts && counts[s] !== undefined).map((s) =>
      h('span', { class: `chip`, 'data-count': s }, `${s} `, h('b', {}, counts[s])),
    ),
  );
}
