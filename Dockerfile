# Two images from one file, one per app, each cut down by `turbo prune` to the workspace packages
# and production dependencies that app needs:
#
#   docker build --target api    -t model-manager-api .      the API (and the model-manager CLI)
#   docker build --target worker -t model-manager-worker .   the download worker
#
# docker-compose.yml builds both. Neither image holds a token or any other secret: they come from
# the environment at run time (see .env.example). Both run as the unprivileged `node` user (uid
# 1000) under tini, so SIGTERM reaches node and its graceful shutdown runs.
#
# Needs BuildKit (the default builder of Docker 23 and later; DOCKER_BUILDKIT=1 on Docker 20.10).
# Behind a proxy that re-signs HTTPS, give npm the proxy's certificate authority as a build
# secret; it is mounted only while npm runs and never lands in a layer:
#
#   docker build --secret id=ca_bundle,src=/etc/ssl/certs/ca-certificates.crt --target api .
#
# Every RUN that reaches the npm registry starts with the same two mounts: that optional CA
# bundle (NODE_EXTRA_CA_CERTS when given) and npm's download cache, shared by the stages.

ARG NODE_IMAGE=node:24-bookworm-slim

FROM ${NODE_IMAGE} AS base
ENV TURBO_TELEMETRY_DISABLED=1 \
    NPM_CONFIG_UPDATE_NOTIFIER=false \
    NPM_CONFIG_FUND=false \
    NPM_CONFIG_AUDIT=false
WORKDIR /app

# --- prune: one pruned workspace (package.json files, a pruned lockfile, sources) per app ------
FROM base AS prune
# The same turbo as package-lock.json pins.
RUN --mount=type=secret,id=ca_bundle --mount=type=cache,target=/root/.npm,sharing=shared \
    { [ ! -s /run/secrets/ca_bundle ] || export NODE_EXTRA_CA_CERTS=/run/secrets/ca_bundle; } \
 && npm install --global turbo@2.11.11
COPY . .
RUN turbo prune @model-manager/api @model-manager/cli --docker --out-dir /out/api \
 && turbo prune @model-manager/worker --docker --out-dir /out/worker \
 && cp tsconfig.json /out/api/full/ \
 && cp tsconfig.json /out/worker/full/

# --- api: build with every dependency, then install production dependencies alone ------------
FROM base AS api-build
COPY --from=prune /out/api/json/ ./
RUN --mount=type=secret,id=ca_bundle --mount=type=cache,target=/root/.npm,sharing=shared \
    { [ ! -s /run/secrets/ca_bundle ] || export NODE_EXTRA_CA_CERTS=/run/secrets/ca_bundle; } \
 && npm ci
COPY --from=prune /out/api/full/ ./
# Collect the compiled output (and bin scripts) of every package in the pruned workspace, so the
# final image takes exactly that from here.
RUN npx turbo run build \
 && mkdir /dist \
 && find apps packages -mindepth 2 -maxdepth 2 \( -name dist -o -name bin \) -exec cp -r --parents {} /dist/ \;

# A fresh install without dev dependencies (npm's cache makes it a copy, not a download).
# typescript comes along as an optional peer of valibot (Bull Board's), which only its types
# use: the lockfile marks it devOptional, so --omit=dev keeps it, and it is removed by hand.
FROM base AS api-deps
COPY --from=prune /out/api/json/ ./
RUN --mount=type=secret,id=ca_bundle --mount=type=cache,target=/root/.npm,sharing=shared \
    { [ ! -s /run/secrets/ca_bundle ] || export NODE_EXTRA_CA_CERTS=/run/secrets/ca_bundle; } \
 && npm ci --omit=dev \
 && rm -rf node_modules/typescript node_modules/.bin/tsc node_modules/.bin/tsserver

# --- worker: the same steps -------------------------------------------------------------------
FROM base AS worker-build
COPY --from=prune /out/worker/json/ ./
RUN --mount=type=secret,id=ca_bundle --mount=type=cache,target=/root/.npm,sharing=shared \
    { [ ! -s /run/secrets/ca_bundle ] || export NODE_EXTRA_CA_CERTS=/run/secrets/ca_bundle; } \
 && npm ci
COPY --from=prune /out/worker/full/ ./
# Collect the compiled output (and bin scripts) of every package in the pruned workspace, so the
# final image takes exactly that from here.
RUN npx turbo run build \
 && mkdir /dist \
 && find apps packages -mindepth 2 -maxdepth 2 \( -name dist -o -name bin \) -exec cp -r --parents {} /dist/ \;

# A fresh install without dev dependencies (npm's cache makes it a copy, not a download).
# typescript comes along as an optional peer of valibot (Bull Board's), which only its types
# use: the lockfile marks it devOptional, so --omit=dev keeps it, and it is removed by hand.
FROM base AS worker-deps
COPY --from=prune /out/worker/json/ ./
RUN --mount=type=secret,id=ca_bundle --mount=type=cache,target=/root/.npm,sharing=shared \
    { [ ! -s /run/secrets/ca_bundle ] || export NODE_EXTRA_CA_CERTS=/run/secrets/ca_bundle; } \
 && npm ci --omit=dev \
 && rm -rf node_modules/typescript node_modules/.bin/tsc node_modules/.bin/tsserver

# --- what both final images start from -----------------------------------------------------
FROM ${NODE_IMAGE} AS runtime
# tini as PID 1 forwards SIGTERM/SIGINT to node and reaps zombies; node itself is never PID 1.
RUN apt-get update \
 && apt-get install -y --no-install-recommends tini \
 && rm -rf /var/lib/apt/lists/* \
 && mkdir -p /workspace/models \
 && chown node:node /workspace/models
# A named volume mounted at /workspace/models starts out owned by `node`, as this folder is.
ENV NODE_ENV=production \
    MODELS_DIR=/workspace/models
WORKDIR /app
ENTRYPOINT ["/usr/bin/tini", "--"]

# --- the API image ----------------------------------------------------------------------------
FROM runtime AS api
# Production node_modules (workspace links included), then the compiled code only: no sources,
# no dev dependencies, all owned by root so the `node` user cannot change them.
COPY --from=api-deps /app/ ./
COPY --from=api-build /dist/ ./
USER node
# Inside the container the API listens on every interface; it refuses to start so without
# API_TOKEN (unless ALLOW_UNAUTHENTICATED=true), so an image run without a token stays closed.
ENV HOST=0.0.0.0 \
    PORT=3000
EXPOSE 3000
# Liveness: /healthz answers 200 while the process serves HTTP (/readyz also checks Redis and the volume).
HEALTHCHECK --interval=15s --timeout=5s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 3000) + '/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
CMD ["node", "apps/api/dist/main.js"]

# --- the worker image -------------------------------------------------------------------------
FROM runtime AS worker
COPY --from=worker-deps /app/ ./
COPY --from=worker-build /dist/ ./
USER node
# The worker serves no port: healthy while it holds its named connection to Redis. It exits
# when it cannot go on (bad configuration, unwritable volume), and the restart policy brings it
# back; whether the workers keep up is read from the API's /metrics and the dashboard.
HEALTHCHECK --interval=15s --timeout=5s --start-period=20s --retries=3 \
  CMD ["node", "apps/worker/dist/healthcheck.js"]
CMD ["node", "apps/worker/dist/main.js"]
