# The demo app and the worker CLI, compiled to JavaScript.
#   docker build -t workflow-redis-demo .
#   docker run -e REDIS_URL=redis://host:6379 -p 3000:3000 workflow-redis-demo
#   docker run -e REDIS_URL=redis://host:6379 -e DEMO_WORKER=0 ... (the app without its in-process worker)
#   docker run -e REDIS_URL=redis://host:6379 workflow-redis-demo node dist/cli/main.js worker --import ./dist-demo/demo/workflows.js
#
# Base: node:24 is the active LTS. bookworm-slim (Debian 12, glibc) rather than
# alpine (musl): glibc is the tier-1 platform of Node's official builds (musl
# builds are experimental) and of npm packages' prebuilt binaries, for a few
# MB more.

# Build stage: every dependency (TypeScript), then dist/ (npm run build) and
# the demo, compiled from scripts/ to dist-demo/. Not shipped.
FROM node:24-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY lib ./lib
COPY scripts ./scripts
# The demo imports the package by name (workflow-redis/api...): with dist/ built, those resolve to dist/*.d.ts.
RUN npm run build \
 && npx tsc scripts/demo.ts --outDir dist-demo --rootDir scripts \
      --module nodenext --moduleResolution nodenext --target es2022 --lib es2023 \
      --strict --skipLibCheck --esModuleInterop --types node

# Final image: production dependencies only (express comes with @bull-board/express),
# the compiled code, plain node, and the unprivileged user `node`.
FROM node:24-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
COPY package.json package-lock.json ./
# --omit=optional too: the lock marks typescript "devOptional" (an optional peer of valibot, under
# @bull-board/api), which --omit=dev alone would install (23 MB); the only other optional package is
# msgpackr's native accelerator, and msgpackr runs without it. --ignore-scripts: no install script runs.
RUN npm ci --omit=dev --omit=optional --ignore-scripts --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/dist ./dist
COPY --from=build /app/dist-demo ./dist-demo
# The code stays owned by root: the app cannot rewrite it.
USER node

ENV PORT=3000
EXPOSE 3000
CMD ["node", "dist-demo/demo.js"]
