import type { BusMessage, SessionBus } from '../session/sessionBus.js';
import type { RedisClient } from './redisClient.js';

/**
 * The session bus over Redis pub/sub: one channel per session, published on the command
 * connection, received on a dedicated subscriber connection (a subscribed connection can do
 * nothing else). Channels are subscribed while a GET stream for them is open here.
 */
export class RedisSessionBus implements SessionBus {
  private readonly handlers = new Map<string, Set<(m: BusMessage) => void>>();

  constructor(
    private readonly pub: RedisClient,
    private readonly sub: RedisClient,
    private readonly prefix: string,
  ) {
    // After a reconnect, subscribe again to exactly the channels with a stream here: ioredis's own
    // resubscription would also revive channels whose UNSUBSCRIBE failed while it was down.
    this.sub.on('ready', () => {
      const channels = [...this.handlers.keys()];
      if (channels.length > 0) void this.sub.subscribe(...channels).catch(() => undefined);
    });
    this.sub.on('message', (channel: string, text: string) => {
      const set = this.handlers.get(channel);
      if (!set) return;
      let m: BusMessage;
      try {
        m = JSON.parse(text) as BusMessage;
      } catch {
        return;
      }
      for (const h of set) h(m);
    });
  }

  private channel(sessionId: string): string {
    return `${this.prefix}bus:${sessionId}`;
  }

  async publish(sessionId: string, message: BusMessage): Promise<number> {
    // PUBLISH answers with the number of subscribers (instances holding a GET stream) reached.
    return this.pub.publish(this.channel(sessionId), JSON.stringify(message));
  }

  async subscribe(sessionId: string, handler: (m: BusMessage) => void): Promise<() => Promise<void>> {
    const ch = this.channel(sessionId);
    let set = this.handlers.get(ch);
    const first = !set;
    if (!set) this.handlers.set(ch, (set = new Set()));
    set.add(handler);
    if (first) {
      try {
        await this.sub.subscribe(ch);
      } catch (err) {
        // Undo only our own handler: another caller may have joined the set meanwhile.
        set.delete(handler);
        if (set.size === 0 && this.handlers.get(ch) === set) this.handlers.delete(ch);
        throw err;
      }
    }
    return async () => {
      set.delete(handler);
      if (set.size === 0 && this.handlers.get(ch) === set) {
        this.handlers.delete(ch);
        await this.sub.unsubscribe(ch).catch(() => undefined);
      }
    };
  }

  async close(): Promise<void> {
    this.handlers.clear();
  }
}
