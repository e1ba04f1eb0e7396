# The demo app and the worker CLI, run from the TypeScript sources (tsx).
#   docker build -t workflow-redis-demo .
#   docker run -e REDIS_URL=redis://host:6379 -p 3000:3000 workflow-redis-demo
FROM node:20-bookworm-slim

WORKDIR /app
RUN chown node:node /app
USER node

# Dependencies first, so that source changes reuse this layer. Dev dependencies
# are included: the image runs TypeScript through tsx, and the demo uses express.
COPY --chown=node:node package.json package-lock.json ./
RUN npm ci --no-audit --no-fund && npm cache clean --force

COPY --chown=node:node . .

ENV PORT=3000
EXPOSE 3000

# Workers: docker run ... node --conditions=workflow-redis-source --import tsx lib/cli/main.ts worker --import ./scripts/demo/workflows.ts
CMD ["npm", "start"]
