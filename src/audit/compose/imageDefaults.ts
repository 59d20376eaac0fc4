/**
 * What well-known images do by default that audit_compose's rules depend on: the user the
 * image's last stage sets (USER) and whether it defines a HEALTHCHECK. Only entries read from
 * the project's own published Dockerfile are listed, each with the version (or commit) it was
 * checked against; an image not listed is assumed to run as root with no healthcheck, as
 * Docker does without USER/HEALTHCHECK. Checked 2026-12 from the upstream Dockerfiles:
 *
 * - grafana/grafana: `ARG GF_UID="472"` ... `USER "$GF_UID"` (grafana/grafana Dockerfile, main
 *   2024-2025; uid 472 since Grafana 5.1). No HEALTHCHECK.
 * - prom/prometheus, prom/alertmanager, prom/node-exporter (and quay.io/prometheus/*):
 *   `USER nobody` (prometheus/prometheus@b5c61f3, prometheus/alertmanager@f297445,
 *   prometheus/node_exporter@625844f). No HEALTHCHECK.
 * - elasticsearch, kibana, logstash (Docker Hub official images, built by Elastic from
 *   elastic/dockerfiles): `USER 1000:0` (elasticsearch 8.16.0), `USER 1000` (kibana 8.16.0,
 *   logstash 8.17.0); elastic/dockerfiles@fee99c9 and @81f3141. No HEALTHCHECK.
 * - dpage/pgadmin4: `USER 5050` (pgadmin-org/pgadmin4@0132ce2, 2025). No HEALTHCHECK.
 * - quay.io/keycloak/keycloak: `USER 1000` (keycloak/keycloak@1842fa9, quarkus/container/Dockerfile).
 * - louislam/uptime-kuma: `HEALTHCHECK ... CMD extra/healthcheck` in its release stage
 *   (louislam/uptime-kuma@a6bb0de, docker/dockerfile); runs as root (no USER there).
 * - plexinc/pms-docker: `HEALTHCHECK ... CMD /healthcheck.sh` (plexinc/pms-docker@821b1a2); root
 *   (s6-overlay; no USER).
 * - itzg/minecraft-server: `HEALTHCHECK ... CMD mc-health` (itzg/docker-minecraft-server@8ba47ea);
 *   root at start (its entrypoint steps down to UID 1000).
 * - cloudflare/cloudflared: `USER 65532:65532` on distroless (cloudflare/cloudflared@ae19790).
 */

export interface ImageDefaults {
  /** The USER of the image's final stage; null when it sets none (root). */
  user: string | null;
  healthcheck: boolean;
  /** Where and at which version it was checked. */
  checked: string;
}

const TABLE: Array<{ names: string[] } & ImageDefaults> = [
  {
    names: ['grafana/grafana', 'grafana/grafana-oss', 'grafana/grafana-enterprise'],
    user: '472',
    healthcheck: false,
    checked: 'grafana/grafana Dockerfile (main, 2024-2025)',
  },
  {
    names: ['prom/prometheus', 'quay.io/prometheus/prometheus'],
    user: 'nobody',
    healthcheck: false,
    checked: 'prometheus/prometheus@b5c61f3',
  },
  {
    names: ['prom/alertmanager', 'quay.io/prometheus/alertmanager'],
    user: 'nobody',
    healthcheck: false,
    checked: 'prometheus/alertmanager@f297445',
  },
  {
    names: ['prom/node-exporter', 'quay.io/prometheus/node-exporter'],
    user: 'nobody',
    healthcheck: false,
    checked: 'prometheus/node_exporter@625844f',
  },
  {
    names: ['elasticsearch', 'docker.elastic.co/elasticsearch/elasticsearch'],
    user: '1000:0',
    healthcheck: false,
    checked: 'elastic/dockerfiles@fee99c9 (8.16.0)',
  },
  {
    names: ['kibana', 'docker.elastic.co/kibana/kibana'],
    user: '1000',
    healthcheck: false,
    checked: 'elastic/dockerfiles@fee99c9 (8.16.0)',
  },
  {
    names: ['logstash', 'docker.elastic.co/logstash/logstash'],
    user: '1000',
    healthcheck: false,
    checked: 'elastic/dockerfiles@81f3141 (8.17.0)',
  },
  { names: ['dpage/pgadmin4'], user: '5050', healthcheck: false, checked: 'pgadmin-org/pgadmin4@0132ce2' },
  {
    names: ['quay.io/keycloak/keycloak'],
    user: '1000',
    healthcheck: false,
    checked: 'keycloak/keycloak@1842fa9',
  },
  {
    names: ['plexinc/pms-docker'],
    user: null,
    healthcheck: true,
    checked: 'plexinc/pms-docker@821b1a2',
  },
  {
    names: ['itzg/minecraft-server'],
    user: null,
    healthcheck: true,
    checked: 'itzg/docker-minecraft-server@8ba47ea',
  },
  {
    names: ['cloudflare/cloudflared'],
    user: '65532:65532',
    healthcheck: false,
    checked: 'cloudflare/cloudflared@ae19790',
  },
  { names: ['louislam/uptime-kuma'], user: null, healthcheck: true, checked: 'louislam/uptime-kuma@a6bb0de' },
];

const BY_NAME = new Map(TABLE.flatMap((e) => e.names.map((n) => [n, e] as const)));

/** The repository part of a reference, Docker Hub's implicit prefixes removed: `docker.io/library/x:1` -> `x`. */
export function imageName(ref: string): string {
  let s = ref.trim().toLowerCase();
  const at = s.indexOf('@');
  if (at >= 0) s = s.slice(0, at);
  const colon = s.lastIndexOf(':');
  if (colon > s.lastIndexOf('/')) s = s.slice(0, colon);
  s = s.replace(/^(docker\.io|index\.docker\.io|registry-1\.docker\.io)\//, '');
  return s.replace(/^library\//, '');
}

export function imageDefaults(ref: string): ImageDefaults | undefined {
  const e = BY_NAME.get(imageName(ref));
  return e ? { user: e.user, healthcheck: e.healthcheck, checked: e.checked } : undefined;
}
