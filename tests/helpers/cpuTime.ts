/**
 * CPU time this process spends running `fn`, in milliseconds. Linear-time guards measure this,
 * not the wall clock: other processes on a busy machine delay a test but do not add to its CPU
 * time, so the bound can stay tight enough to catch a blow-up (catastrophic backtracking costs
 * seconds of CPU) and still never fail because the machine is loaded.
 */
export function cpuMs(fn: () => unknown): number {
  const before = process.cpuUsage();
  fn();
  const d = process.cpuUsage(before);
  return (d.user + d.system) / 1000;
}

/** The same for async work; the process's CPU time meanwhile (its I/O threads included). */
export async function cpuMsAsync(fn: () => Promise<unknown>): Promise<number> {
  const before = process.cpuUsage();
  await fn();
  const d = process.cpuUsage(before);
  return (d.user + d.system) / 1000;
}

/** Starts a CPU-time stopwatch: the function returns the milliseconds of CPU used since. */
export function cpuStopwatch(): () => number {
  const before = process.cpuUsage();
  return () => {
    const d = process.cpuUsage(before);
    return (d.user + d.system) / 1000;
  };
}
