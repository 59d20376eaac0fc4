import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { timeoutSignal } from '../../src/resilience/timeoutSignal.js';

// A real collection between arming the deadline and its expiry: on Node 20 the collector
// reclaimed AbortSignal.timeout inside AbortSignal.any, and fleet_health then waited 60 s.
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

function settled(signal: AbortSignal, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve(true);
    const t = setTimeout(() => resolve(false), ms);
    signal.addEventListener('abort', () => (clearTimeout(t), resolve(true)), { once: true });
  });
}

describe('timeoutSignal', () => {
  it('fires at its deadline after a garbage collection, with a TimeoutError', async () => {
    const outer = new AbortController();
    const signal = timeoutSignal(200, outer.signal);
    gc();
    await new Promise((r) => setTimeout(r, 50));
    gc();
    expect(await settled(signal, 10_000)).toBe(true);
    expect((signal.reason as DOMException).name).toBe('TimeoutError');
    expect(outer.signal.aborted).toBe(false);
  });

  it('fires alone (no other signal) after a garbage collection', async () => {
    const signal = timeoutSignal(150);
    gc();
    expect(await settled(signal, 10_000)).toBe(true);
  });

  it('follows the caller first, with the caller reason', async () => {
    const outer = new AbortController();
    const signal = timeoutSignal(60_000, outer.signal);
    outer.abort(new Error('cancelled by the client'));
    expect(signal.aborted).toBe(true);
    expect((signal.reason as Error).message).toBe('cancelled by the client');
  });

  it('is aborted at once when a source already is', () => {
    const signal = timeoutSignal(60_000, AbortSignal.abort(new Error('gone')));
    expect(signal.aborted).toBe(true);
  });
});
