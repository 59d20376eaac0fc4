/**
 * A signal that aborts after `ms` or when any of `signals` aborts.
 *
 * Not `AbortSignal.any([..., AbortSignal.timeout(ms)])`: on Node 20 the garbage collector can
 * reclaim the timeout signal inside `any()`, and the deadline then never fires (fixed in
 * Node 22). Here a plain timer holds the controller, so the deadline fires on every Node. The
 * timer is unref'd (it never keeps a process alive) and cleared once the signal aborts.
 */
export function timeoutSignal(ms: number, ...signals: AbortSignal[]): AbortSignal {
  const controller = new AbortController();
  const timer = setTimeout(
    () => controller.abort(new DOMException('The operation was aborted due to timeout', 'TimeoutError')),
    ms,
  );
  timer.unref();
  const signal = signals.length > 0 ? AbortSignal.any([controller.signal, ...signals]) : controller.signal;
  if (signal.aborted) clearTimeout(timer);
  else signal.addEventListener('abort', () => clearTimeout(timer), { once: true });
  return signal;
}
