/** Pure analysis of the "hardware" check group: md RAID, EDAC, machine checks, temperatures, SMART. */
import type { Finding, Severity } from '../findings.js';
import { grade, type ThresholdPair, type Thresholds } from './thresholds.js';
import { emptyResult, type GroupResult } from './types.js';

export interface MdArray {
  name: string;
  active: boolean;
  level: string | null;
  /** Members the array should have, and those in sync ("[4/3]"); null for raid0/linear, which have no redundancy. */
  wanted: number | null;
  inSync: number | null;
  failed: string[];
  spares: number;
  /** "recovery", "resync", "check", "reshape" and its percent, when one is running. */
  sync: { action: string; percent: number } | null;
}

/** /proc/mdstat: one block per array, "mdN : state level dev[n](F) ..." then status lines. */
export function parseMdstat(text: string): MdArray[] {
  const arrays: MdArray[] = [];
  let current: MdArray | undefined;
  for (const line of text.split('\n')) {
    const head = /^(md\w+)\s*:\s*(active|inactive)(?:\s+\([^)]*\))?\s*(.*)$/.exec(line);
    if (head?.[1]) {
      const words = (head[3] ?? '').split(/\s+/).filter(Boolean);
      const level = words[0] && /^(raid\d+|linear|multipath|faulty)$/.test(words[0]) ? words[0] : null;
      const members = level ? words.slice(1) : words;
      current = {
        name: head[1],
        active: head[2] === 'active',
        level,
        wanted: null,
        inSync: null,
        failed: members.filter((m) => m.endsWith('(F)')).map((m) => m.replace(/\[\d+\]\(F\)$/, '')),
        spares: members.filter((m) => m.endsWith('(S)')).length,
        sync: null,
      };
      arrays.push(current);
      continue;
    }
    if (!current) continue;
    const counts = /\[(\d+)\/(\d+)\]\s+\[[U_]+\]/.exec(line);
    if (counts) {
      current.wanted = Number(counts[1]);
      current.inSync = Number(counts[2]);
    }
    const sync = /(recovery|resync|check|reshape|repair)\s*=\s*([\d.]+)%/.exec(line);
    if (sync?.[1]) current.sync = { action: sync[1], percent: Number(sync[2]) };
  }
  return arrays;
}

export function analyzeRaid(arrays: MdArray[]): GroupResult {
  const r = emptyResult();
  r.metrics['raid.arrays'] = arrays.length;
  let degradedCount = 0;
  for (const a of arrays) {
    const key = `raid.${a.name}`;
    const missing = a.wanted !== null && a.inSync !== null ? a.wanted - a.inSync : 0;
    const degraded = missing > 0;
    if (degraded) degradedCount++;
    r.metrics[`${key}.degraded`] = degraded ? 1 : 0;
    r.metrics[`${key}.failed_devices`] = a.failed.length;
    if (a.wanted !== null) r.metrics[`${key}.devices_wanted`] = a.wanted;
    if (a.inSync !== null) r.metrics[`${key}.devices_in_sync`] = a.inSync;
    if (a.sync) r.metrics[`${key}.sync_percent`] = a.sync.percent;
    const evidence = [
      `${a.name}: ${a.active ? 'active' : 'inactive'} ${a.level ?? ''}`.trim(),
      a.wanted !== null ? `[${a.wanted}/${a.inSync}] devices in sync` : '',
      a.failed.length > 0 ? `failed: ${a.failed.join(', ')}` : '',
      a.sync ? `${a.sync.action} ${a.sync.percent}%` : '',
    ]
      .filter(Boolean)
      .join('; ');
    if (!a.active) {
      r.findings.push({
        id: `raid.inactive:${a.name}`,
        // Container arrays (IMSM/DDF) are listed inactive by design; their member volumes carry the state.
        severity: a.level === null && a.failed.length === 0 ? 'info' : 'critical',
        title: `RAID ${a.name} is inactive`,
        evidence,
        recommendation: `Inspect it with "mdadm --detail /dev/${a.name}"; if it should run, assemble it ("mdadm --assemble --scan") after checking the members' SMART health.`,
      });
    } else if (degraded) {
      const rebuilding = a.sync?.action === 'recovery';
      r.findings.push({
        id: `raid.degraded:${a.name}`,
        severity: 'critical',
        title: `RAID ${a.name} is degraded: ${missing} of ${a.wanted} devices missing${rebuilding ? ` (rebuilding, ${a.sync?.percent}%)` : ''}`,
        evidence,
        recommendation: rebuilding
          ? `A rebuild is running; one more failure may lose data. Keep load low, watch it with "cat /proc/mdstat", and replace the failed disk's hardware if it failed rather than dropped out.`
          : `Replace the failed disk and add it back ("mdadm --manage /dev/${a.name} --remove <failed> --add <new>"); check the other members' SMART health first.`,
      });
    } else if (a.failed.length > 0) {
      r.findings.push({
        id: `raid.failed_device:${a.name}`,
        severity: 'high',
        title: `RAID ${a.name} has ${a.failed.length} failed device(s) still attached`,
        evidence,
        recommendation: `The array is in sync, but remove and replace the failed member(s): "mdadm --manage /dev/${a.name} --remove ${a.failed[0]}".`,
      });
    }
  }
  r.metrics['raid.degraded_arrays'] = degradedCount;
  return r;
}

export interface EdacController {
  name: string;
  corrected: number;
  uncorrected: number;
}

export function analyzeEdac(controllers: EdacController[]): GroupResult {
  const r = emptyResult();
  for (const c of controllers) {
    r.metrics[`edac.${c.name}.ce_count`] = c.corrected;
    r.metrics[`edac.${c.name}.ue_count`] = c.uncorrected;
    if (c.uncorrected > 0) {
      r.findings.push({
        id: `edac.uncorrected:${c.name}`,
        severity: 'critical',
        title: `${c.uncorrected} uncorrected memory errors on ${c.name}`,
        evidence: `/sys/devices/system/edac/mc/${c.name}: ue_count ${c.uncorrected}, ce_count ${c.corrected}`,
        recommendation:
          'Uncorrectable ECC errors corrupt data or crash the host: find the DIMM (edac-util -v, or the csrow/dimm labels in sysfs) and replace it soon.',
      });
    } else if (c.corrected > 0) {
      r.findings.push({
        id: `edac.corrected:${c.name}`,
        severity: 'medium',
        title: `${c.corrected} corrected memory errors on ${c.name}`,
        evidence: `/sys/devices/system/edac/mc/${c.name}: ce_count ${c.corrected}`,
        recommendation:
          'ECC corrected them, but a DIMM is wearing: note which one (edac-util -v) and watch the count with compare_baselines; plan a replacement if it grows.',
      });
    }
  }
  return r;
}

/** The sum of the "MCE" (machine check exceptions) row of /proc/interrupts, or undefined on non-x86. */
export function parseMachineChecks(interrupts: string): number | undefined {
  const line = interrupts.split('\n').find((l) => /^\s*MCE:/.test(l));
  if (!line) return undefined;
  return line
    .replace(/^\s*MCE:/, '')
    .trim()
    .split(/\s+/)
    .map(Number)
    .filter((n) => Number.isFinite(n))
    .reduce((s, n) => s + n, 0);
}

export function analyzeMachineChecks(count: number): GroupResult {
  const r = emptyResult();
  r.metrics['hardware.mce'] = count;
  if (count > 0) {
    r.findings.push({
      id: 'hardware.machine_checks',
      severity: 'high',
      title: `${count} machine check exceptions since boot`,
      evidence: `/proc/interrupts MCE row sums to ${count}`,
      recommendation:
        'The CPU reported hardware errors (CPU, cache, memory bus): read them with "journalctl -k | grep -i mce" or rasdaemon ("ras-mc-ctl --errors") and involve the hardware vendor.',
    });
  }
  return r;
}

export interface TemperatureSensor {
  /** Stable across reboots: the device behind the hwmon entry (coretemp.0, nvme0, thermal_zone0). */
  device: string;
  /** The driver's name file (coretemp, nvme, acpitz). */
  driver: string;
  /** temp1, temp2, ... */
  sensor: string;
  label: string | null;
  celsius: number;
  critCelsius: number | null;
}

export function analyzeTemperatures(sensors: TemperatureSensor[], t: Thresholds): GroupResult {
  const r = emptyResult();
  if (sensors.length === 0) return r;
  let max = Number.NEGATIVE_INFINITY;
  for (const s of sensors) {
    r.metrics[`temp.${s.device}.${s.sensor}_celsius`] = s.celsius;
    max = Math.max(max, s.celsius);
    // A sensor's own critical limit wins when lower: a disk or a low-power SoC runs cooler than a CPU.
    const critical =
      s.critCelsius !== null && s.critCelsius > 0
        ? Math.min(t.temperatureCelsius.critical, s.critCelsius)
        : t.temperatureCelsius.critical;
    const limits: ThresholdPair = { high: Math.min(t.temperatureCelsius.high, critical), critical };
    const severity = grade(s.celsius, limits);
    if (!severity) continue;
    const what = `${s.driver}${s.label ? ` ${s.label}` : ''} (${s.device} ${s.sensor})`;
    r.findings.push({
      id: `hardware.temperature:${s.device}.${s.sensor}`,
      severity,
      title: `${what} at ${s.celsius} °C`,
      evidence: `${s.celsius} °C; high at ${limits.high} °C, critical at ${limits.critical} °C${s.critCelsius ? ` (sensor's own crit ${s.critCelsius} °C)` : ''}`,
      recommendation:
        'Check cooling: fans (sensors), airflow and dust, ambient temperature of the room or rack, and sustained load; hot hardware throttles and fails early.',
    });
  }
  r.metrics['temp.max_celsius'] = max;
  return r;
}

/** One device from "smartctl --scan-open --json". */
export interface SmartDevice {
  name: string;
  type: string;
}

/** Device names and types as smartctl prints them; anything else is not passed to a command. */
const DEVICE_NAME = /^\/dev\/[\w/.-]+$/;
const DEVICE_TYPE = /^[\w,+-]+$/;

export function parseSmartScan(json: string): SmartDevice[] | undefined {
  let data: unknown;
  try {
    data = JSON.parse(json);
  } catch {
    return undefined;
  }
  const devices = (data as { devices?: unknown }).devices;
  if (!Array.isArray(devices)) return undefined;
  return devices
    .map((d) => ({ name: String((d as SmartDevice).name), type: String((d as SmartDevice).type) }))
    .filter((d) => DEVICE_NAME.test(d.name) && DEVICE_TYPE.test(d.type) && !d.name.includes('..'));
}

/** A metric-safe key per device: sda, nvme0n1, sda_megaraid_0 (several disks behind one controller). */
export function smartKey(d: SmartDevice): string {
  const base = d.name.replace(/^\/dev\//, '').replace(/\//g, '_');
  return d.type.includes(',') ? `${base}_${d.type.replace(/[^\w]+/g, '_')}` : base;
}

interface SmartJson {
  smartctl?: { exit_status?: number; messages?: { string?: string; severity?: string }[] };
  model_name?: string;
  serial_number?: string;
  smart_status?: { passed?: boolean };
  ata_smart_attributes?: { table?: { id?: number; name?: string; raw?: { value?: number } }[] };
  nvme_smart_health_information_log?: {
    critical_warning?: number;
    available_spare?: number;
    available_spare_threshold?: number;
    percentage_used?: number;
    media_errors?: number;
  };
  temperature?: { current?: number };
}

const ATA_ATTRS: Record<number, { metric: string; label: string; severity: Severity; advice: string }> = {
  5: {
    metric: 'reallocated_sectors',
    label: 'reallocated sectors',
    severity: 'medium',
    advice: 'the disk has remapped bad sectors; compare_baselines shows whether the count grows',
  },
  197: {
    metric: 'pending_sectors',
    label: 'sectors pending reallocation',
    severity: 'high',
    advice: 'unreadable sectors are waiting to be remapped: data on them may be lost',
  },
  198: {
    metric: 'offline_uncorrectable',
    label: 'offline-uncorrectable sectors',
    severity: 'high',
    advice: 'sectors could not be read even offline',
  },
};

/** Judges one "smartctl --json -H -A -i" answer. `exitStatus` bits: smartctl(8) "RETURN VALUES". */
export function analyzeSmart(
  device: SmartDevice,
  json: string,
  exitStatus: number | null,
  t: Thresholds,
): GroupResult {
  const r = emptyResult();
  const key = smartKey(device);
  let data: SmartJson;
  try {
    data = JSON.parse(json) as SmartJson;
  } catch {
    r.notes.push(
      `smart: ${device.name}: smartctl gave no JSON (exit ${exitStatus}); is smartmontools 7.0 or newer?`,
    );
    return r;
  }
  const bits = exitStatus ?? data.smartctl?.exit_status ?? 0;
  if (bits & 0b10) {
    const msg = data.smartctl?.messages?.[0]?.string ?? 'open failed';
    r.notes.push(`smart: cannot open ${device.name}: ${msg} (smartctl needs root or CAP_SYS_RAWIO)`);
    return r;
  }
  const who = `${device.name}${data.model_name ? ` (${data.model_name}${data.serial_number ? `, ${data.serial_number}` : ''})` : ''}`;
  const replace = `Back up what is on ${device.name} and plan its replacement; run a long self-test ("smartctl -t long ${device.name}") to confirm.`;
  const passed = data.smart_status?.passed;
  if (passed !== undefined) r.metrics[`smart.${key}.passed`] = passed ? 1 : 0;
  if (passed === false || bits & 0b1000) {
    r.findings.push({
      id: `smart.failing:${key}`,
      severity: 'critical',
      title: `${device.name}: SMART overall health is FAILING`,
      evidence: `${who}: smart_status.passed=${String(passed)}, smartctl exit status ${bits}`,
      recommendation: `The disk predicts its own failure: ${replace}`,
    });
  }
  for (const attr of data.ata_smart_attributes?.table ?? []) {
    const spec = attr.id === undefined ? undefined : ATA_ATTRS[attr.id];
    const raw = attr.raw?.value;
    if (!spec || typeof raw !== 'number') continue;
    r.metrics[`smart.${key}.${spec.metric}`] = raw;
    if (raw > 0) {
      r.findings.push({
        id: `smart.${spec.metric}:${key}`,
        severity: spec.severity,
        title: `${device.name}: ${raw} ${spec.label}`,
        evidence: `${who}: attribute ${attr.id} ${attr.name ?? ''} raw value ${raw}`.replace('  ', ' '),
        recommendation: `${spec.advice[0]?.toUpperCase()}${spec.advice.slice(1)}. ${replace}`,
      });
    }
  }
  const nvme = data.nvme_smart_health_information_log;
  if (nvme) {
    const put = (name: string, v: number | undefined) => {
      if (typeof v === 'number') r.metrics[`smart.${key}.${name}`] = v;
    };
    put('critical_warning', nvme.critical_warning);
    put('media_errors', nvme.media_errors);
    put('endurance_used_percent', nvme.percentage_used);
    put('available_spare', nvme.available_spare);
    const push = (id: string, severity: Severity, title: string, evidence: string, rec = replace) =>
      r.findings.push({
        id: `smart.${id}:${key}`,
        severity,
        title: `${device.name}: ${title}`,
        evidence: `${who}: ${evidence}`,
        recommendation: rec,
      });
    if (nvme.critical_warning)
      push(
        'nvme_critical_warning',
        'critical',
        `NVMe critical warning 0x${nvme.critical_warning.toString(16)}`,
        `critical_warning ${nvme.critical_warning}`,
      );
    if (nvme.media_errors)
      push('media_errors', 'high', `${nvme.media_errors} media errors`, `media_errors ${nvme.media_errors}`);
    if (
      typeof nvme.available_spare === 'number' &&
      typeof nvme.available_spare_threshold === 'number' &&
      nvme.available_spare <= nvme.available_spare_threshold
    )
      push(
        'spare_low',
        'critical',
        `spare capacity ${nvme.available_spare}% at or below its threshold`,
        `available_spare ${nvme.available_spare}%, threshold ${nvme.available_spare_threshold}%`,
      );
    if (typeof nvme.percentage_used === 'number' && nvme.percentage_used >= 90)
      push(
        'worn',
        nvme.percentage_used >= 100 ? 'high' : 'medium',
        `${nvme.percentage_used}% of rated endurance used`,
        `percentage_used ${nvme.percentage_used}%`,
        `The drive nears its rated write endurance. ${replace}`,
      );
  }
  const temp = data.temperature?.current;
  if (typeof temp === 'number') {
    r.metrics[`smart.${key}.temperature_celsius`] = temp;
    const severity = grade(temp, t.diskTemperatureCelsius);
    if (severity) {
      const f: Finding = {
        id: `smart.temperature:${key}`,
        severity,
        title: `${device.name} at ${temp} °C`,
        evidence: `${who}: SMART temperature ${temp} °C (high ${t.diskTemperatureCelsius.high}, critical ${t.diskTemperatureCelsius.critical})`,
        recommendation: "Improve airflow over the drives; sustained heat shortens a disk's life.",
      };
      r.findings.push(f);
    }
  }
  return r;
}

export function smartUnavailable(why: 'missing' | 'failed', detail = ''): GroupResult {
  const r = emptyResult();
  const title =
    why === 'missing'
      ? 'smartctl not found: install smartmontools'
      : `smartctl failed${detail ? `: ${detail}` : ''}`;
  r.findings.push({
    id: 'smart.unavailable',
    severity: 'info',
    title,
    evidence: why === 'missing' ? 'no smartctl on PATH; disk health (SMART) was not checked' : detail,
    recommendation:
      why === 'missing'
        ? 'Install smartmontools (apt-get install smartmontools / dnf install smartmontools) so disk health can be checked.'
        : 'Run "smartctl --scan-open" as root to see why; the server needs root or CAP_SYS_RAWIO for SMART.',
  });
  r.notes.push(`smart: ${title}`);
  return r;
}
