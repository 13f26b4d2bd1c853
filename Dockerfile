# syntax=docker/dockerfile:1
# One image for both apps: the API by default, the worker with
#   command: ["node", "apps/worker/dist/main.js"]

FROM node:20-bookworm-slim AS build
WORKDIR /app
ENV TURBO_TELEMETRY_DISABLED=1
# Manifests first, so `npm ci` is cached until a dependency changes.
COPY package.json package-lock.json turbo.json tsconfig.json ./
COPY apps/api/package.json apps/api/
COPY apps/cli/package.json apps/cli/
COPY apps/worker/package.json apps/worker/
COPY packages/client/package.json packages/client/
COPY packages/core/package.json packages/core/
COPY packages/registry/package.json packages/registry/
RUN npm ci --no-audit --no-fund
COPY apps apps
COPY packages packages
RUN npx turbo run build
RUN npm prune --omit=dev --no-audit --no-fund

FROM node:20-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
COPY --from=build /app /app
# A named volume mounted here starts out with this owner, so the `node` user can write to it.
RUN mkdir -p /workspace/models && chown -R node:node /workspace
USER node
ENV MODELS_DIR=/workspace/models \
    HOST=0.0.0.0 \
    PORT=3000
EXPOSE 3000
# Only the API listens; the worker service turns this check off in docker-compose.yml.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 3000) + '/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
CMD ["node", "apps/api/dist/main.js"]
