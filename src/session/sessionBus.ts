import { EventEmitter } from 'node:events';
import type { JSONRPCMessage, JSONRPCNotification, ServerEvent } from '@modelcontextprotocol/server';

/**
 * A server-to-client message for a session, word that the session ended (streams close), or a
 * client's cancellation of a request that may be running on another instance.
 */
export type BusMessage =
  | { kind: 'notify'; notification: JSONRPCNotification }
  | { kind: 'end' }
  | { kind: 'cancel'; sessionId: string; requestId: string | number; reason?: string }
  | { kind: 'event'; event: ServerEvent }
  | { kind: 'response'; sessionId: string; message: JSONRPCMessage }
  /** A task's cancel or new input, for the instance that runs it (tasks/taskService.ts). */
  | { kind: 'task'; action: 'cancel' | 'input'; taskId: string; owner: string };

/**
 * The one channel every instance listens on for cancellations (session ids are 32 hex digits, so
 * it cannot collide with a session's channel). Cancels are rare; a broadcast is cheaper than a
 * subscription per request.
 */
export const CANCEL_CHANNEL = '_cancel';

/** The channel every instance listens on for change events (subscriptions/listen, 2026-07-28). */
export const EVENTS_CHANNEL = '_events';

/**
 * Carries server-initiated messages to whichever instance holds a session's GET stream.
 * Memory for one process; Redis pub/sub in fleet mode.
 */
export interface SessionBus {
  /** Resolves with how many GET streams (on any instance) received it. */
  publish(sessionId: string, message: BusMessage): Promise<number>;
  /** Resolves once subscribed; the returned function unsubscribes. */
  subscribe(sessionId: string, handler: (message: BusMessage) => void): Promise<() => Promise<void>>;
  close(): Promise<void>;
}

export class MemorySessionBus implements SessionBus {
  private readonly emitter = new EventEmitter().setMaxListeners(0);

  async publish(sessionId: string, message: BusMessage): Promise<number> {
    const n = this.emitter.listenerCount(sessionId);
    this.emitter.emit(sessionId, message);
    return n;
  }

  async subscribe(sessionId: string, handler: (message: BusMessage) => void): Promise<() => Promise<void>> {
    this.emitter.on(sessionId, handler);
    return async () => {
      this.emitter.off(sessionId, handler);
    };
  }

  async close(): Promise<void> {
    this.emitter.removeAllListeners();
  }
}
