# syntax=docker/dockerfile:1
# Gatehouse image: Node 24 LTS, non-root, embedded database in /data unless DATABASE_URL is set.

FROM node:24-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
# Install scripts are not needed: argon2 ships prebuilt binaries, and the `node` dev dependency
# (Node 24 for npm scripts on other machines) is pointless in a Node 24 image.
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY . .
# The build, plus the embedded database's cluster template in dist/ (npm ci's `prepare` step,
# skipped above). Then only what runs stays: `--omit=optional` too, because the Prisma CLI and
# typescript are optional peers of @prisma/client as well as dev dependencies ("devOptional"),
# which `--omit=dev` alone keeps (with effect and the rest of the Prisma CLI's tree). The bundle
# in dist/ includes the generated Prisma client; it needs @prisma/client's runtime only.
RUN npm run build && node scripts/prepare-embedded.ts && npm prune --omit=dev --omit=optional --ignore-scripts

FROM node:24-slim
# The embedded database's lock is flock(1), from util-linux (essential in Debian, so in node:24-slim):
# fail the build here rather than the first start if a base image ever lacks it.
RUN command -v flock >/dev/null
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=3000 \
    DATA_DIR=/data
WORKDIR /app
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY --from=build /app/bin ./bin
COPY --from=build /app/scripts/ensure-built.mjs ./scripts/ensure-built.mjs
COPY --from=build /app/prisma/migrations ./prisma/migrations
RUN mkdir -p /data && chown node:node /data
USER node
VOLUME ["/data"]
EXPOSE 3000
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s \
  CMD node -e "fetch('http://127.0.0.1:'+(process.env.PORT||3000)+'/readyz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
# exec form: node is PID 1 and receives SIGTERM directly for a graceful stop (the script's shebang
# execs node with Gatehouse's V8 memory flags)
CMD ["bin/gatehouse.js", "serve"]
