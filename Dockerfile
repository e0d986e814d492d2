# keyshare in a container: docs/DEPLOYMENT.md.
#   docker build -t keyshare:0.1.0 .
#   docker run -p 8080:8080 -v keyshare-data:/data keyshare:0.1.0
# The first start on an empty /data initialises a DEVELOPMENT repository (root key inside /data);
# for production run `keyshare init` first (the Kubernetes example has a Job for it) and move the
# root keys offline.

FROM node:20-slim AS build
WORKDIR /app
# better-sqlite3 and pkcs11js are native addons: a compiler for when no prebuilt binary fits.
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
COPY . .
# npm ci builds dist/ (the prepare script); then the dev dependencies go.
RUN npm ci && npm prune --omit=dev

FROM node:20-slim
WORKDIR /app
COPY --from=build /app /app
RUN mkdir -p /data && chown node:node /data
USER node
ENV NODE_ENV=production \
    KEYSHARE_DATA=/data \
    KEYSHARE_LISTEN=0.0.0.0:8080
VOLUME ["/data"]
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s CMD ["node", "-e", "fetch('http://127.0.0.1:8080/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# The same command as `npm start` (package.json; test/deploy/deploy.test.ts checks it).
CMD ["node", "bin/keyshare.js", "serve"]
