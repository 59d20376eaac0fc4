/**
 * Every audit_compose rule: a stable id, its default severity, a title and what to do.
 * docs/rules.md documents each one (trigger, why, fix); tests check the two agree.
 */
import type { Severity } from '../findings.js';

export interface RuleMeta {
  severity: Severity;
  title: string;
  recommendation: string;
}

export const RULES = {
  'compose.healthcheck.missing': {
    severity: 'medium',
    title: 'no healthcheck',
    recommendation:
      'Add a healthcheck (test, interval, timeout, retries, start_period) unless the image defines HEALTHCHECK; restart policies and depends_on conditions only see "running", not "working", without one.',
  },
  'compose.healthcheck.disabled': {
    severity: 'medium',
    title: 'healthcheck disabled',
    recommendation: 'Remove `disable: true` / `test: ["NONE"]` and give the service a real healthcheck.',
  },
  'compose.depends_on.not_healthy': {
    severity: 'low',
    title: 'depends_on does not wait for health',
    recommendation:
      'Use the long form `depends_on: {<service>: {condition: service_healthy}}`: the dependency has a healthcheck, so wait for it to pass rather than for the container to start.',
  },
  'compose.resources.memory_unlimited': {
    severity: 'medium',
    title: 'no memory limit',
    recommendation:
      'Set deploy.resources.limits.memory (or mem_limit) so one leaking container cannot push the host into the OOM killer.',
  },
  'compose.resources.cpu_unlimited': {
    severity: 'low',
    title: 'no CPU limit',
    recommendation:
      'Set deploy.resources.limits.cpus (or cpus) so one busy container cannot starve the others.',
  },
  'compose.logging.no_rotation': {
    severity: 'medium',
    title: 'logs are not rotated',
    recommendation:
      'Set logging: {driver: json-file, options: {max-size: "10m", max-file: "3"}} (or the `local` driver, which rotates by default), or set log-opts in /etc/docker/daemon.json.',
  },
  'compose.image.latest': {
    severity: 'medium',
    title: 'image uses :latest',
    recommendation:
      'Pin a version tag and a digest (image: name:1.2.3@sha256:...) so every deploy runs what was tested.',
  },
  'compose.image.untagged': {
    severity: 'medium',
    title: 'image has no tag',
    recommendation: 'No tag means :latest. Pin a version tag and a digest (image: name:1.2.3@sha256:...).',
  },
  'compose.image.not_pinned': {
    severity: 'info',
    title: 'image tag without digest',
    recommendation:
      'Tags can be moved; add the digest (image: name:1.2.3@sha256:...) for reproducible deploys.',
  },
  'compose.privileged': {
    severity: 'high',
    title: 'privileged container',
    recommendation:
      'Remove `privileged: true`; grant only the capabilities (cap_add) and devices (devices:) the service needs.',
  },
  'compose.cap_add.dangerous': {
    severity: 'high',
    title: 'dangerous capability added',
    recommendation:
      'Drop the capability, or replace it with the narrow one the service needs; add `cap_drop: [ALL]` first.',
  },
  'compose.security_opt.unconfined': {
    severity: 'high',
    title: 'security profile disabled',
    recommendation:
      'Remove the unconfined security_opt; if the default seccomp/AppArmor profile blocks a call, write a custom profile that allows just that call.',
  },
  'compose.namespace.pid_host': {
    severity: 'high',
    title: "shares the host's PID namespace",
    recommendation: 'Remove `pid: host`: the container can see and signal every host process.',
  },
  'compose.namespace.network_host': {
    severity: 'medium',
    title: "shares the host's network namespace",
    recommendation:
      'Remove `network_mode: host` and publish only the needed ports; host networking bypasses network isolation and exposes every port the container opens.',
  },
  'compose.namespace.ipc_host': {
    severity: 'medium',
    title: "shares the host's IPC namespace",
    recommendation:
      'Remove `ipc: host` (use `ipc: shareable`/`service:<name>` between containers if needed).',
  },
  'compose.namespace.userns_host': {
    severity: 'medium',
    title: 'user namespace remapping disabled',
    recommendation: 'Remove `userns_mode: host` so root in the container stays unprivileged on the host.',
  },
  'compose.volume.docker_socket': {
    severity: 'critical',
    title: 'container runtime socket mounted',
    recommendation:
      'Do not mount docker.sock: whoever controls the container controls the host. Use a socket proxy (e.g. tecnativa/docker-socket-proxy) exposing only the needed API calls; if unavoidable, mount it read-only and document why in a comment on the mount.',
  },
  'compose.volume.sensitive_host_path': {
    severity: 'high',
    title: 'sensitive host path mounted writable',
    recommendation: 'Mount only the directory the service needs, read-only (`:ro` or `read_only: true`).',
  },
  'compose.secrets.plaintext': {
    severity: 'high',
    title: 'secret in plain text',
    recommendation:
      "Move the value out of the compose file: reference it (`KEY: ${KEY}`) from an env file kept out of version control, or use `secrets:` and the image's *_FILE variable.",
  },
  'compose.ports.database_exposed': {
    severity: 'high',
    title: 'database port published on all interfaces',
    recommendation:
      'Do not publish it, or bind it to loopback ("127.0.0.1:5432:5432"); other services reach it over the compose network by service name.',
  },
  'compose.secrets.command_line': {
    severity: 'high',
    title: 'secret on a command line',
    recommendation:
      'Do not write secrets into command, entrypoint or healthcheck: they show in `docker inspect`, `ps` and logs. Give the client the secret through its environment variable (MYSQL_PWD, PGPASSWORD, REDISCLI_AUTH, SQLCMDPASSWORD) filled from a secrets: file or a ${VAR} kept out of the compose file.',
  },
  'compose.ports.debugger_exposed': {
    severity: 'critical',
    title: 'debugger port published on all interfaces',
    recommendation:
      'A debugger runs any code it is sent. Do not publish it in deployments; for local debugging bind it to loopback ("127.0.0.1:9229:9229").',
  },
  'compose.ports.broker_exposed': {
    severity: 'high',
    title: 'message broker or admin API published on all interfaces',
    recommendation:
      'Brokers and admin APIs often have no or default credentials: do not publish them, or bind them to loopback ("127.0.0.1:9092:9092") or an internal interface, and require authentication (SASL/TLS, user accounts).',
  },
  'compose.user.root': {
    severity: 'low',
    title: 'runs as root',
    recommendation:
      'Set `user: "<uid>:<gid>"` (non-zero), a non-root USER in the Dockerfile, or `read_only: true`, so a compromise does not get root in the container.',
  },
  'compose.restart.missing': {
    severity: 'low',
    title: 'no restart policy',
    recommendation:
      'Set `restart: unless-stopped` (or deploy.restart_policy) so the service comes back after a crash or a reboot.',
  },
  'compose.network.wide_aliases': {
    severity: 'low',
    title: 'many network aliases',
    recommendation:
      'Keep aliases to the few names clients use; every alias is a name other containers can resolve and impersonate.',
  },
  'compose.tz.missing': {
    severity: 'info',
    title: 'TZ not set',
    recommendation:
      'Set TZ (e.g. TZ: Etc/UTC) or mount /etc/localtime read-only so log timestamps agree with the host.',
  },
} as const satisfies Record<string, RuleMeta>;

export type RuleId = keyof typeof RULES;
export const RULE_IDS = Object.keys(RULES) as RuleId[];
