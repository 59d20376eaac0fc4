import type { Registry } from 'prom-client';
import type { Config } from '../config.js';
import { Resilience } from '../resilience/resilience.js';
import { BotVerifier } from './botVerifier.js';
import { SsrfPolicy } from './ssrf.js';

/** Everything that reaches the network, built once per process and shared by all sessions. */
export interface Outbound {
  resilience: Resilience;
  ssrf: SsrfPolicy;
  botVerifier: BotVerifier;
  registerMetrics(registry: Registry): void;
  close(): void;
}

export function createOutbound(config: Config): Outbound {
  const resilience = new Resilience({
    timeoutMs: config.OUTBOUND_TIMEOUT_MS,
    retries: config.RETRY_COUNT,
    retryMinMs: config.RETRY_MIN_MS,
    retryMaxMs: config.RETRY_MAX_MS,
    errorThresholdPercentage: config.BREAKER_ERROR_PERCENT,
    volumeThreshold: config.BREAKER_VOLUME,
    resetTimeoutMs: config.BREAKER_RESET_MS,
    maxBreakers: config.BREAKER_MAX,
  });
  const ssrf = new SsrfPolicy({
    denyPrivate: config.OUTBOUND_DENY_PRIVATE,
    allow: config.OUTBOUND_ALLOW ?? [],
    deny: config.OUTBOUND_DENY ?? [],
    dnsServers: config.DNS_SERVERS,
    timeoutMs: config.OUTBOUND_TIMEOUT_MS,
  });
  const botVerifier = new BotVerifier(resilience, {
    servers: config.DNS_SERVERS,
    timeoutMs: config.OUTBOUND_TIMEOUT_MS,
  });
  return {
    resilience,
    ssrf,
    botVerifier,
    registerMetrics: (registry) => resilience.registerMetrics(registry),
    close: () => resilience.shutdown(),
  };
}
