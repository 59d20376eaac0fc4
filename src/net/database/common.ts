/** Helpers both drivers share: abort races and turning driver errors into messages without secrets. */

/** Rejects when the signal aborts; `onLate` disposes of a value that arrives after the abort. */
export function raceAbort<T>(p: Promise<T>, signal: AbortSignal, onLate: (v: T) => void): Promise<T> {
  if (signal.aborted) {
    p.then(onLate, () => undefined);
    return Promise.reject(abortError());
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => {
      p.then(onLate, () => undefined);
      reject(abortError());
    };
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (err: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(err instanceof Error ? err : new Error(String(err)));
      },
    );
  });
}

export function abortError(): Error {
  return Object.assign(new Error('aborted'), { code: 'ABORT_ERR' });
}

/** A driver error the caller can act on, with a driver-independent code. */
export class DatabaseError extends Error {
  override name = 'DatabaseError';
  constructor(
    message: string,
    readonly code: 'EAUTH' | 'ENODB' | 'ENOTREADONLY',
  ) {
    super(message);
  }
}

const num = (v: unknown): number => {
  const n = typeof v === 'number' ? v : typeof v === 'bigint' ? Number(v) : Number.parseFloat(String(v));
  return Number.isFinite(n) ? n : 0;
};
export { num };

/** `schema.table`, at most 20, and the total. */
export function sampleOf(rows: Array<{ t: unknown }>, total: number): { count: number; sample: string[] } {
  return { count: total, sample: rows.slice(0, 20).map((r) => String(r.t)) };
}
