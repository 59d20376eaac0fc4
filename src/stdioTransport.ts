import type { JSONRPCMessage } from '@modelcontextprotocol/server';
import { StdioServerTransport } from '@modelcontextprotocol/server/stdio';

type Id = string | number;

/**
 * The SDK's stdio transport, except that the end of input does not drop the requests already
 * read: `printf '...initialize...\n...tools/call...\n' | server-audit-mcp --stdio` (or a client
 * that closes stdin right after its last request) gets every answer before the server exits.
 * The plain transport closes on stdin EOF at once, which closed the connection under the
 * running tool: the call was "abandoned" and never answered (issue 18).
 *
 * drain(): stop reading, wait (at most graceMs) until every request read has been answered.
 * Once stdout fails (EPIPE: the client is gone) nothing more can be answered: drain() does not wait.
 */
export class DrainingStdioTransport extends StdioServerTransport {
  private readonly pending = new Set<Id>();
  private draining: Promise<void> | undefined;
  private settle: (() => void) | undefined;
  private outputGone = false;

  constructor(
    private readonly graceMs: number,
    private readonly input: NodeJS.ReadableStream = process.stdin,
    output: NodeJS.WritableStream = process.stdout,
  ) {
    super(input as never, output as never);
    // The base class reacts to stdin end/close with close(); drain first instead.
    this._onstdinclose = () => void this.drain().then(() => this.close());
    // The base class closes itself on a stdout error; answers still pending will never be read.
    output.on('error', () => {
      this.outputGone = true;
      this.settle?.();
    });
    // serveStdio assigns onmessage after construction: see each request go in on its way.
    let handler: ((message: JSONRPCMessage) => void) | undefined;
    Object.defineProperty(this, 'onmessage', {
      configurable: true,
      enumerable: true,
      get: () => handler,
      set: (h: ((message: JSONRPCMessage) => void) | undefined) => {
        handler =
          h &&
          ((message: JSONRPCMessage) => {
            const m = message as { id?: Id; method?: string };
            if (m.method !== undefined && m.id !== undefined) this.pending.add(m.id);
            h(message);
          });
      },
    });
  }

  override async send(message: JSONRPCMessage): Promise<void> {
    await super.send(message);
    const r = message as { id?: Id; method?: string };
    if (r.method === undefined && r.id !== undefined && this.pending.delete(r.id) && this.pending.size === 0)
      this.settle?.();
  }

  /** Stops reading; resolves once every request read so far is answered, or after graceMs. */
  drain(): Promise<void> {
    this.draining ??= new Promise<void>((resolve) => {
      this.input.pause();
      if (this.pending.size === 0 || this.outputGone) return resolve();
      const timer = setTimeout(resolve, this.graceMs);
      timer.unref();
      this.settle = () => {
        clearTimeout(timer);
        resolve();
      };
    });
    return this.draining;
  }
}
