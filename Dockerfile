# syntax=docker/dockerfile:1
# Tollgate: build with the dev toolchain, run with production dependencies only.

FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci
COPY tsconfig.json tsconfig.build.json nest-cli.json ./
COPY config ./config
COPY libs ./libs
COPY apps ./apps
RUN npm run build

FROM node:20-bookworm-slim AS runtime
ENV NODE_ENV=production
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev && npm cache clean --force
COPY --from=build /app/dist ./dist
# Only embedded mode (no DATABASE_URL) writes here (.data/pglite); the app directory stays root-owned.
RUN mkdir -p /app/.data && chown node:node /app/.data
USER node
EXPOSE 3000
# main.ts drains in-flight requests on SIGTERM for SHUTDOWN_GRACE_MS (default 25 s):
# give the container longer than that before it is killed (docker-compose.yml: stop_grace_period).
STOPSIGNAL SIGTERM
CMD ["node", "dist/apps/tollgate/main.js"]
