/**
 * Start-up and shutdown of the Redis side of issue 19's fleet mode, for runtime.ts: the agent's
 * heartbeat (AGENT_NAME) and the serving instance's directory of registered agents
 * (FLEET_AGENT_KEY_FILE / FLEET_AGENT_KEY), attached to the process's host router.
 */
import type { Config } from '../config.js';
import type { Fleet } from '../fleet/fleet.js';
import type { Logger } from '../observability/logger.js';
import type { Resilience } from '../resilience/resilience.js';
import { AgentDirectory, AgentHeartbeat } from './agentDirectory.js';
import { attachAgentDirectory } from './hostRouter.js';

export interface FleetAgents {
  /** Starts heart-beating (call once the server listens). */
  startHeartbeat(): Promise<void>;
  /** Deletes this agent's registration at once (first thing on shutdown). */
  stopHeartbeat(): Promise<void>;
  close(): void;
}

export async function startFleetAgents(
  config: Config,
  fleet: Fleet,
  resilience: Resilience,
  logger: Logger,
  version: string,
): Promise<FleetAgents> {
  const log = logger.child({ component: 'agents' });
  let directory: AgentDirectory | undefined;
  if (config.registeredAgents && fleet.redis) {
    directory = new AgentDirectory(
      fleet.redis,
      config.REDIS_PREFIX,
      { max: config.registeredAgents.max, refreshSeconds: config.registeredAgents.refreshSeconds },
      log,
    );
    await directory.start();
    attachAgentDirectory(resilience, directory, config.registeredAgents.key);
  }
  const heartbeat =
    config.agent && fleet.redis
      ? new AgentHeartbeat(fleet.redis, config.REDIS_PREFIX, { ...config.agent, version }, log)
      : undefined;
  return {
    async startHeartbeat() {
      if (!heartbeat || !config.agent) return;
      await heartbeat.start();
      log.info(
        { agent: config.agent.name, url: config.agent.url, ttlSeconds: heartbeat.ttlMs / 1000 },
        'registered as an agent in Redis',
      );
    },
    async stopHeartbeat() {
      await heartbeat?.stop();
    },
    close() {
      directory?.close();
    },
  };
}
