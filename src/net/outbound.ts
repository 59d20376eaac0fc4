import type { Config } from '../config.js';
import { Resilience } from '../resilience/resilience.js';
import { BotVerifier } from './botVerifier.js';

/** Everything that reaches the network, built once per process and shared by all sessions. */
export interface Outbound {
  resilience: Resilience;
  botVerifier: BotVerifier;
  close(): void;
}

export function createOutbound(config: Config): Outbound {
  const resilience = new Resilience({ timeoutMs: config.DNS_TIMEOUT_MS, retries: 1 });
  const botVerifier = new BotVerifier(resilience, {
    servers: config.DNS_SERVERS,
    timeoutMs: config.DNS_TIMEOUT_MS,
  });
  return { resilience, botVerifier, close: () => resilience.shutdown() };
}
