// Shared by the HTTP benchmarks: a free loopback port, and a server started on one.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';

export async function freePort() {
  const srv = createServer().listen(0, '127.0.0.1');
  await once(srv, 'listening');
  const { port } = srv.address();
  srv.close();
  return port;
}

/** Starts a server on a free port and waits until /mcp answers (any status). */
export async function start(script, env = {}) {
  const port = await freePort();
  const child = spawn(process.execPath, [script], {
    env: { ...process.env, PORT: String(port), ...env },
    // Logs go where a production deployment sends them: a file or a pipe; /dev/null here.
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const url = `http://127.0.0.1:${port}/mcp`;
  for (let i = 0; ; i++) {
    if (child.exitCode !== null) throw new Error(`${script} exited with ${child.exitCode}`);
    try {
      await fetch(url);
      return { child, url };
    } catch {
      if (i > 100) throw new Error(`${script} did not start`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

/**
 * CPU time (user + system, ms) the given processes have used so far, from /proc. On a shared,
 * busy machine calls/s swings with the other tenants; CPU per call hardly does, so the benches
 * report both. NaN where /proc is absent.
 */
export function cpuMs(pids) {
  try {
    let ticks = 0;
    for (const pid of pids) {
      const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
      ticks += Number(fields[11]) + Number(fields[12]); // utime, stime (clock ticks, 100/s)
    }
    return ticks * 10;
  } catch {
    return Number.NaN;
  }
}
