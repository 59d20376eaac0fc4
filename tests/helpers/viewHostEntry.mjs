// The test host page's script (bundled by tests/helpers/viewHost.ts): loads a view the way a host
// built on ext-apps does, with the library's host-side bridge (AppBridge + PostMessageTransport).
import {
  AppBridge,
  isToolVisibilityModelOnly,
  PostMessageTransport,
} from '@modelcontextprotocol/ext-apps/app-bridge';

/** What the view asked the host to call (name and arguments), refused ones included. */
window.viewCalls = [];

/**
 * `tools`: the server's tools/list as the host got it (with _meta.ui). A view's tools/call goes to
 * the real server through `window.hostCallTool` (the test's MCP client), unless the tool is not
 * the app's to call: hosts refuse tools whose visibility is the model's only.
 */
window.showView = async (html, call, theme, tools = []) => {
  const slot = document.getElementById('slot');
  const iframe = document.createElement('iframe');
  // As hosts do: scripts, but an opaque origin (no allow-same-origin).
  iframe.setAttribute('sandbox', 'allow-scripts');
  iframe.style.cssText = 'width:100%;border:0;height:400px;display:block';
  slot.replaceChildren(iframe);
  // The bridge listens before the page loads: a view says ui/initialize as soon as it runs.
  // (The iframe's WindowProxy stays the same object when it navigates to the srcdoc.)
  const win = iframe.contentWindow;
  const bridge = new AppBridge(
    null,
    { name: 'view-test-host', version: '1.0.0' },
    { serverTools: {} },
    { hostContext: { theme, displayMode: 'inline', platform: 'web' } },
  );
  // The test changes the host context (theme) through it while the view is shown.
  window.hostBridge = bridge;
  bridge.oncalltool = async (params) => {
    const tool = tools.find((t) => t.name === params.name);
    const refused = !tool || isToolVisibilityModelOnly(tool);
    window.viewCalls.push({ name: params.name, arguments: params.arguments, refused });
    if (refused) throw new Error(`${params.name} is not available to this view`);
    return window.hostCallTool(params.name, params.arguments || {});
  };
  bridge.onsizechange = (p) => {
    if (p.height) iframe.style.height = `${Math.ceil(p.height)}px`;
  };
  const initialized = new Promise((r) => (bridge.oninitialized = () => r()));
  await bridge.connect(new PostMessageTransport(win, win));
  iframe.srcdoc = html;
  await initialized;
  await bridge.sendToolInput({ arguments: call.arguments });
  await bridge.sendToolResult(call.result);
};
