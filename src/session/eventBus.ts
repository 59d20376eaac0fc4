import { InMemoryServerEventBus, type ServerEvent, type ServerEventBus } from '@modelcontextprotocol/server';
import type { Logger } from '../observability/logger.js';
import { EVENTS_CHANNEL, type SessionBus } from './sessionBus.js';

/**
 * The SDK's change-event seam for subscriptions/listen streams (2026-07-28), carried fleet-wide
 * on the session bus: a baseline saved on one instance reaches listen streams on every instance.
 * Listeners are the local streams; a publish goes out on the bus and comes back to every
 * instance (this one included) from it, so each event is delivered exactly once per stream.
 */
export class FleetEventBus implements ServerEventBus {
  private readonly local = new InMemoryServerEventBus((err) =>
    this.logger.warn({ err }, 'listen stream listener failed'),
  );
  private unsubscribe: (() => Promise<void>) | undefined;
  private retry: NodeJS.Timeout | undefined;

  constructor(
    private readonly bus: SessionBus,
    private readonly logger: Logger,
  ) {}

  /** Starts receiving events published by any instance. */
  async start(): Promise<void> {
    try {
      this.unsubscribe = await this.bus.subscribe(EVENTS_CHANNEL, (m) => {
        if (m.kind === 'event') this.local.publish(m.event);
      });
    } catch (err) {
      // Redis down at start: listen streams here miss other instances' events until it is back.
      this.logger.warn({ err }, 'cannot receive change events yet; retrying');
      this.retry = setTimeout(() => void this.start(), 5000);
      this.retry.unref();
    }
  }

  publish(event: ServerEvent): void {
    this.bus.publish(EVENTS_CHANNEL, { kind: 'event', event }).catch((err: unknown) => {
      this.logger.warn({ err }, 'change event not published');
    });
  }

  subscribe(listener: (event: ServerEvent) => void): () => void {
    return this.local.subscribe(listener);
  }

  async close(): Promise<void> {
    if (this.retry) clearTimeout(this.retry);
    await this.unsubscribe?.().catch(() => undefined);
  }
}
