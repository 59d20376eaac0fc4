# server-audit-mcp: multi-stage build. Build with dev dependencies (TypeScript), run with
# production dependencies only, as the image's non-root `node` user (uid/gid 1000).
#
# Base: Node.js 22 LTS on Debian bookworm, slim, pinned by digest (the multi-arch index digest of
# node:22.23.3-bookworm-slim), so a rebuild gets the same base until someone bumps it on
# purpose. The tag is informational once a digest is given. To move to a newer patch release,
# resolve the digest of the new tag (`docker buildx imagetools inspect node:22-bookworm-slim`,
# or `crane digest`) and replace both, or override it for one build:
#   docker build --build-arg NODE_IMAGE=node:22-bookworm-slim@sha256:<digest> .
# The server needs Node.js >= 20.
#
# Run time:
# - PID 1 is tini (Debian's package), which forwards SIGTERM to node so the graceful shutdown
#   (SHUTDOWN_GRACE_SECONDS) runs, and reaps zombies. Kubernetes has no `init: true`, so the
#   image brings its own. `-s` (subreaper) keeps it working when another init is PID 1 as well
#   (compose's `init: true`, `docker run --init`): harmless, just redundant.
# - Read-only root file system friendly: the server writes only under DATA_DIR (/data, a
#   volume); mount a tmpfs/emptyDir on /tmp. Nothing is written to /app at run time.
# - No secrets in any layer: no ARG or ENV carries one, the build context excludes .env and
#   secrets/ (.dockerignore), and API keys, JWT secrets and REDIS_URL come from the environment
#   or mounted files when the container starts. If a private registry ever needs a token, use a
#   BuildKit secret mount (`RUN --mount=type=secret,id=npmrc,target=/root/.npmrc npm ci`), never
#   COPY or ARG.
ARG NODE_IMAGE=node:22.23.3-bookworm-slim@sha256:43ac6c60b8f89723f746e8a92ce91abd5017e627ce1ddfe4238355d3a30b772c

FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build

FROM ${NODE_IMAGE} AS runtime
LABEL org.opencontainers.image.title="server-audit-mcp" \
      org.opencontainers.image.description="MCP server that lets an AI assistant audit servers" \
      org.opencontainers.image.licenses="Apache-2.0"
# tini as PID 1 (signals, zombies). --no-install-recommends and an emptied apt cache keep the
# layer small.
RUN apt-get update \
    && apt-get install -y --no-install-recommends tini \
    && rm -rf /var/lib/apt/lists/*
# HOST stays the server's default (127.0.0.1): the compose files and the Kubernetes manifests
# set HOST=0.0.0.0 together with authentication, which the server requires for it.
ENV NODE_ENV=production \
    DATA_DIR=/data
WORKDIR /app
COPY package.json package-lock.json ./
# Production dependencies only; then npm itself goes: nothing runs it at run time, and it is the
# largest part of the image that a scanner would flag. /app stays owned by root (read-only to
# the server); /data is the one directory the node user owns.
RUN npm ci --omit=dev --no-audit --no-fund \
    && npm cache clean --force \
    && rm -rf /root/.npm /tmp/* \
        /usr/local/lib/node_modules/npm /usr/local/bin/npm /usr/local/bin/npx \
    && mkdir -p /data \
    && chown node:node /data
COPY --from=build /app/dist ./dist
# The MCP Apps view pages, read at run time (src/views/registerViews.ts).
COPY views ./views
# Numeric, so Kubernetes' runAsNonRoot can verify it without a runAsUser (1000 is `node`).
USER 1000:1000
EXPOSE 3000
HEALTHCHECK --interval=30s --timeout=5s --start-period=15s --retries=3 \
    CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||3000)+'/health').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
ENTRYPOINT ["/usr/bin/tini", "-s", "--"]
CMD ["node", "dist/server.js"]
