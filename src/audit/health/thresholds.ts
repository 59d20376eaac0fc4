import { z } from 'zod';
import type { Severity } from '../findings.js';

/** A pair of limits: at or above `high` is a high finding, at or above `critical` a critical one. */
const pair = (high: number, critical: number, what: string) =>
  z
    .object({
      high: z.number().min(0).describe(`${what}: high at or above this`),
      critical: z.number().min(0).describe(`${what}: critical at or above this`),
    })
    .refine((p) => p.critical >= p.high, { error: 'critical must be at least high' })
    .default({ high, critical });

/**
 * Every threshold run_health_check applies, with its documented default. Overridable by
 * THRESHOLDS_FILE (YAML or JSON) and per call; README.md lists the same defaults.
 */
export const thresholdsSchema = z.object({
  diskUsedPercent: pair(85, 95, 'disk space used %'),
  inodeUsedPercent: pair(85, 95, 'inodes used %'),
  memoryUsedPercent: pair(90, 97, 'memory used % (MemAvailable-based)'),
  swapUsedPercent: pair(50, 80, 'swap used %'),
  loadPerCore: pair(1.5, 3, '5-minute load per CPU core'),
  iowaitPercent: pair(20, 40, 'CPU iowait %'),
  stealPercent: pair(10, 25, 'CPU steal %'),
  pressureSomeAvg60: pair(25, 50, 'pressure stall "some" avg60 % (cpu, memory, io)'),
  fileHandlesPercent: pair(80, 95, 'open file handles % of the limit'),
  zombieProcesses: pair(20, 200, 'zombie processes'),
  temperatureCelsius: pair(80, 95, "hardware temperature °C (a sensor's own crit limit wins when lower)"),
  diskTemperatureCelsius: pair(55, 65, 'disk temperature °C reported by SMART'),
  netErrorPercent: pair(0.1, 1, 'interface errors+drops % of packets since boot'),
  timeWaitSockets: pair(30000, 60000, 'TCP sockets in TIME_WAIT (ephemeral port pressure)'),
  tcpRetransPercent: pair(2, 5, 'TCP segments retransmitted %'),
  mailQueue: pair(100, 1000, 'messages in the mail queue'),
  failedSshLogins: pair(100, 1000, 'failed SSH logins in the scanned logs'),
  clockOffsetMs: pair(100, 1000, 'clock offset ms (absolute)'),
  recentRebootSeconds: z
    .number()
    .min(0)
    .default(3600)
    .describe('uptime below this is reported as a recent reboot'),
});

export type Thresholds = z.infer<typeof thresholdsSchema>;
export type ThresholdPair = { high: number; critical: number };

export const DEFAULT_THRESHOLDS: Thresholds = thresholdsSchema.parse({});

/** The severity a value earns against a pair, or undefined when below both. */
export function grade(value: number, t: ThresholdPair): Extract<Severity, 'high' | 'critical'> | undefined {
  if (value >= t.critical) return 'critical';
  if (value >= t.high) return 'high';
  return undefined;
}
