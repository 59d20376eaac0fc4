/**
 * Resumable GET streams: the events of a session's server-initiated stream are kept (bounded,
 * with the session's TTL) so a client reconnecting with Last-Event-ID, to any instance, gets
 * what it missed. Implements the SDK's EventStore, scoped to one session: an event id from
 * another session finds nothing here.
 */
import type { EventStore, JSONRPCMessage } from '@modelcontextprotocol/server';
import type { RedisClient } from '../fleet/redisClient.js';

/** Events kept per session; older ones are dropped (a client away that long re-syncs by listing). */
export const MAX_EVENTS_PER_SESSION = 1000;
const GET_STREAM = '_GET_stream';

export interface SessionEvents {
  forSession(sessionId: string): EventStore;
  /** Drops a session's events (memory; Redis expires them with the session). */
  forget?(sessionId: string): void;
}

export class MemorySessionEvents implements SessionEvents {
  private readonly bySession = new Map<string, Array<{ id: string; message: JSONRPCMessage }>>();
  private seq = 0;

  forSession(sessionId: string): EventStore {
    const list = () => {
      let l = this.bySession.get(sessionId);
      if (!l) this.bySession.set(sessionId, (l = []));
      return l;
    };
    return {
      storeEvent: async (_streamId, message) => {
        const id = `${Date.now()}-${++this.seq}`;
        const l = list();
        l.push({ id, message });
        if (l.length > MAX_EVENTS_PER_SESSION) l.splice(0, l.length - MAX_EVENTS_PER_SESSION);
        return id;
      },
      // Any id of ours resumes; one no longer kept (trimmed) replays all that is kept.
      getStreamIdForEventId: async (eventId) => (/^\d+-\d+$/.test(eventId) ? GET_STREAM : undefined),
      replayEventsAfter: async (lastEventId, { send }) => {
        const l = list();
        const at = l.findIndex((e) => e.id === lastEventId);
        for (const e of l.slice(at + 1)) await send(e.id, e.message);
        return GET_STREAM;
      },
    };
  }

  forget(sessionId: string): void {
    this.bySession.delete(sessionId);
  }
}

/** Redis Streams: XADD with an approximate MAXLEN, the key expiring with the session. */
export class RedisSessionEvents implements SessionEvents {
  constructor(
    private readonly redis: RedisClient,
    private readonly prefix: string,
    private readonly ttlMs: number,
  ) {}

  forSession(sessionId: string): EventStore {
    const key = `${this.prefix}events:${sessionId}`;
    const validId = (id: string) => /^\d+-\d+$/.test(id);
    return {
      storeEvent: async (_streamId, message) => {
        const id = await this.redis.xadd(
          key,
          'MAXLEN',
          '~',
          String(MAX_EVENTS_PER_SESSION),
          '*',
          'm',
          JSON.stringify(message),
        );
        await this.redis.pexpire(key, this.ttlMs);
        return id as string;
      },
      // Any well-formed id resumes: XRANGE after it returns what is kept, also when it was trimmed.
      getStreamIdForEventId: async (eventId) => (validId(eventId) ? GET_STREAM : undefined),
      replayEventsAfter: async (lastEventId, { send }) => {
        if (!validId(lastEventId)) return GET_STREAM;
        const entries = await this.redis.xrange(key, `(${lastEventId}`, '+');
        for (const [id, fields] of entries) {
          const m = fields[fields.indexOf('m') + 1];
          if (m) await send(id, JSON.parse(m) as JSONRPCMessage);
        }
        return GET_STREAM;
      },
    };
  }
}
