# syntax=docker/dockerfile:1
# Chainflow: one image for every role. The command picks it:
#   docker run … chainflow api | worker | migrate | backup /backups/x | rotate-key
# Build: docker build -t chainflow .   (docs/deploy.md)

ARG NODE_IMAGE=node:24-slim

# ---- build: install everything, typecheck, build the web app and the workflow bundle ----
FROM ${NODE_IMAGE} AS build
WORKDIR /app
# Dependencies first: this layer is reused while package*.json stay the same.
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY . .
# `npm run build` = typecheck + web/dist (Vite) + dist/workflow-bundle.js (the worker's
# pre-built bundle, so no worker bundles at start). Then drop the dev dependencies.
RUN npm run build \
 && npm prune --omit=dev --no-audit --no-fund \
 && npm cache clean --force

# ---- runtime: sources (run by Node's type stripping), production node_modules, builds ----
FROM ${NODE_IMAGE} AS runtime
WORKDIR /app
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=3000 \
    DATA_DIR=/app/data \
    WORKFLOW_BUNDLE=/app/dist/workflow-bundle.js
# Application files belong to root and are read-only for the app user; only DATA_DIR
# (caches, pid files) is writable.
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/bin ./bin
COPY --from=build /app/config.ts ./
COPY --from=build /app/activities ./activities
COPY --from=build /app/api ./api
COPY --from=build /app/chain ./chain
COPY --from=build /app/cli ./cli
COPY --from=build /app/db ./db
COPY --from=build /app/lib ./lib
COPY --from=build /app/temporal ./temporal
COPY --from=build /app/workflows ./workflows
COPY --from=build /app/examples ./examples
COPY --from=build /app/dist ./dist
COPY --from=build /app/web/dist ./web/dist
RUN mkdir -p /app/data && chown node:node /app/data
USER node
EXPOSE 3000
# The API answers /health (process up) and /ready (PostgreSQL and Temporal reachable);
# the worker serves no HTTP, so the healthchecks live in docker-compose.yml per role.
ENTRYPOINT ["node", "bin/chainflow.js"]
CMD ["api"]
