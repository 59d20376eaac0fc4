# server-audit-mcp: multi-stage build. Build with dev dependencies (TypeScript), run with
# production dependencies only, as the image's non-root `node` user (uid 1000).
# The only writable path the server needs is DATA_DIR (/data, a volume in compose.yml), so the
# container runs with a read-only root file system (`read_only: true` plus a tmpfs on /tmp).
# Signals: run with an init (`init: true` in compose, `docker run --init`) so SIGTERM reaches
# node and the graceful shutdown (SHUTDOWN_GRACE_SECONDS) runs.
ARG NODE_IMAGE=node:20-bookworm-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build

FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production \
    DATA_DIR=/data
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund \
    && npm cache clean --force \
    && mkdir -p /data \
    && chown node:node /data
COPY --from=build /app/dist ./dist
USER node
EXPOSE 3000
HEALTHCHECK --interval=30s --timeout=5s --start-period=15s --retries=3 \
    CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||3000)+'/health').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
CMD ["node", "dist/server.js"]
