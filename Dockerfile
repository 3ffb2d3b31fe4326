# One image for every relaylab service: `relaylab node`, `relaylab dns`, `relaylab certs` and the
# runner (`relaylab drive --attach`) differ only in their command (see docker-compose.yml).
FROM node:20-bookworm-slim
WORKDIR /lab
# Manifests first, so the dependency layer is rebuilt only when they change.
COPY package.json package-lock.json tsconfig.json tsconfig.base.json ./
COPY packages ./packages
COPY schemas ./schemas
COPY scenarios ./scenarios
# `npm ci` runs `prepare` (tsc -b), so the image carries the built dist/ of every package.
# CI (.ci/compose.sh) builds this file as it is, except that this one `RUN npm ci ` line also
# gets the CI machine's CA bundle as a BuildKit secret: keep it one line that starts so.
RUN npm ci --no-audit --no-fund && npm cache clean --force
ENTRYPOINT ["node", "packages/cli/bin/relaylab.js"]
CMD ["--help"]
