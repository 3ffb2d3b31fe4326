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
RUN npm ci --no-audit --no-fund && npm cache clean --force
ENTRYPOINT ["node", "packages/cli/bin/relaylab.js"]
CMD ["--help"]
