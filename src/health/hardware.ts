import { realpath } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { CheckEnv } from '../audit/health/checkEnv.js';
import {
  analyzeEdac,
  analyzeMachineChecks,
  analyzeRaid,
  analyzeSmart,
  analyzeTemperatures,
  type EdacController,
  parseMachineChecks,
  parseMdstat,
  parseSmartScan,
  type SmartDevice,
  smartUnavailable,
  type TemperatureSensor,
} from '../audit/health/hardwareAnalysis.js';
import { emptyResult, type GroupResult, mergeResults } from '../audit/health/types.js';
import { under } from '../host/hostPaths.js';
import { listDir, readText } from '../host/readFiles.js';

/** More disks than this are summarised by the first ones; each costs a smartctl run. */
const SMART_MAX_DEVICES = 32;
const SMART_CONCURRENCY = 4;
const SMART_TIMEOUT_MS = 10_000;
const HWMON_MAX_SENSORS = 200;

export async function checkHardware(env: CheckEnv): Promise<GroupResult> {
  const parts = await Promise.all([raid(env), edac(env), machineChecks(env), temperatures(env), smart(env)]);
  return mergeResults(...parts);
}

/** No /proc/mdstat means the md driver is not loaded: no software RAID, nothing to report. */
async function raid(env: CheckEnv): Promise<GroupResult> {
  const text = await readText(under(env.paths.proc, '/mdstat'));
  return text === undefined ? emptyResult() : analyzeRaid(parseMdstat(text));
}

/** No EDAC controllers: no ECC memory, or its driver is not loaded; nothing to judge. */
async function edac(env: CheckEnv): Promise<GroupResult> {
  const base = under(env.paths.sys, '/devices/system/edac/mc');
  const names = (await listDir(base)).filter((n) => /^mc\d+$/.test(n)).sort();
  const controllers = await Promise.all(
    names.map(async (name): Promise<EdacController> => {
      const count = async (file: string) => Number((await readText(join(base, name, file)))?.trim()) || 0;
      return { name, corrected: await count('ce_count'), uncorrected: await count('ue_count') };
    }),
  );
  return analyzeEdac(controllers);
}

async function machineChecks(env: CheckEnv): Promise<GroupResult> {
  const text = await readText(under(env.paths.proc, '/interrupts'));
  const count = text === undefined ? undefined : parseMachineChecks(text);
  // Non-x86 kernels have no MCE row; that is not a problem to report.
  return count === undefined ? emptyResult() : analyzeMachineChecks(count);
}

async function temperatures(env: CheckEnv): Promise<GroupResult> {
  const base = under(env.paths.sys, '/class/hwmon');
  const entries = (await listDir(base)).filter((n) => /^hwmon\d+$/.test(n));
  const sensors: TemperatureSensor[] = [];
  await Promise.all(
    entries.map(async (entry) => {
      const dir = join(base, entry);
      // hwmonN numbering changes across boots; the device it belongs to does not.
      const real = await realpath(dir).catch(() => dir);
      // devices/platform/coretemp.0/hwmon/hwmon0, or devices/virtual/thermal/thermal_zone0/hwmon1.
      const up = basename(dirname(real));
      const parent = real === dir ? entry : up === 'hwmon' ? basename(dirname(dirname(real))) : up;
      const driver = (await readText(join(dir, 'name')))?.trim() || parent;
      const files = (await listDir(dir)).filter((f) => /^temp\d+_input$/.test(f));
      for (const file of files) {
        const sensor = file.replace('_input', '');
        const milli = Number((await readText(join(dir, file)))?.trim());
        // Unplugged sensors read as errors or absurd values; skip them rather than alarm.
        if (!Number.isFinite(milli) || milli <= -40_000 || milli >= 200_000) continue;
        const crit = Number((await readText(join(dir, `${sensor}_crit`)))?.trim());
        sensors.push({
          device: parent === entry ? `${driver}_${entry}` : parent,
          driver,
          sensor,
          label: (await readText(join(dir, `${sensor}_label`)))?.trim() || null,
          celsius: milli / 1000,
          critCelsius: Number.isFinite(crit) && crit > 0 ? crit / 1000 : null,
        });
      }
    }),
  );
  sensors.sort(
    (a, b) => a.device.localeCompare(b.device) || a.sensor.localeCompare(b.sensor, 'en', { numeric: true }),
  );
  const r = analyzeTemperatures(sensors.slice(0, HWMON_MAX_SENSORS), env.thresholds);
  if (sensors.length > HWMON_MAX_SENSORS)
    r.notes.push(`hwmon: ${sensors.length - HWMON_MAX_SENSORS} more sensors not shown`);
  return r;
}

/** SMART through smartctl's JSON output (smartmontools 7+). Device names come from its own scan. */
async function smart(env: CheckEnv): Promise<GroupResult> {
  const scan = await env.run('smartctl', ['--scan-open', '--json'], {
    timeoutMs: SMART_TIMEOUT_MS,
    signal: env.signal,
  });
  if (!scan.found) return smartUnavailable('missing');
  if (scan.timedOut)
    return smartUnavailable('failed', `"smartctl --scan-open" timed out after ${SMART_TIMEOUT_MS / 1000} s`);
  const devices = parseSmartScan(scan.stdout);
  if (!devices)
    return smartUnavailable('failed', scan.stderr.trim().split('\n')[0] || `exit status ${scan.exitCode}`);
  const r = emptyResult();
  r.metrics['smart.devices'] = devices.length;
  const chosen = devices.slice(0, SMART_MAX_DEVICES);
  if (devices.length > chosen.length)
    r.notes.push(`smart: only the first ${chosen.length} of ${devices.length} devices were checked`);
  const results: GroupResult[] = [];
  let next = 0;
  const worker = async () => {
    while (next < chosen.length && !env.signal.aborted) {
      const d = chosen[next++] as SmartDevice;
      const res = await env.run('smartctl', ['--json', '-H', '-A', '-i', '-d', d.type, d.name], {
        timeoutMs: SMART_TIMEOUT_MS,
        signal: env.signal,
      });
      results.push(
        res.timedOut
          ? {
              ...emptyResult(),
              notes: [`smart: ${d.name}: smartctl timed out after ${SMART_TIMEOUT_MS / 1000} s`],
            }
          : analyzeSmart(d, res.stdout, res.exitCode, env.thresholds),
      );
    }
  };
  await Promise.all(Array.from({ length: Math.min(SMART_CONCURRENCY, chosen.length) }, worker));
  return mergeResults(r, ...results);
}
