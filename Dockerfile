# syntax=docker/dockerfile:1
# The Gatehouse image: its entrypoint is `gatehouse` (cli/gatehouse.js, the JavaScript `npm run build` emits from
# the TypeScript sources), the command is the argument, e.g. `controller …` or `proxy …` as charts/gatehouse passes
# them.
#
#   docker build -t gatehouse:0.1.0 .          (from the repository root; see charts/README.md)
#
# Why compiled JavaScript when Node runs the .ts sources directly (`npm start`, the tests): loading Node's type
# stripper costs every process ~18 MB of resident memory, measured 20-27 MB less RSS per proxy (docs/fleet.md,
# Memory). The build stage emits the runtime code (tsconfig.build.json) in the sources' layout, so in the image
# each .js file sits where its .ts file sits in the repository (/app/cli, /app/controller, /app/proxy, …) and
# paths relative to a module (cli/package-version.ts reads ../package.json) hold in both.
#
# test/e2e/image-files.test.ts reads this file: every path the COPY lines take from the build context must exist
# and not be in .dockerignore; it replays the build stage and then the runtime stage into a temporary folder, and
# the runtime stage's files (plus the production dependencies) must be enough to run the entrypoint, with no
# TypeScript left to strip. Keep the COPY lists explicit (no `COPY . .`).

ARG NODE_IMAGE=node:24-bookworm-slim

# ---- production dependencies, exactly as locked ----
FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
# --ignore-scripts: no production dependency has an install script (no native addon), and none may run here.
RUN npm ci --omit=dev --ignore-scripts

# ---- build: the runtime code compiled to JavaScript (typescript is a devDependency) ----
FROM ${NODE_IMAGE} AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts
COPY tsconfig.json tsconfig.build.json ./
COPY cli ./cli
COPY controller ./controller
COPY proxy ./proxy
COPY crds ./crds
COPY examples ./examples
# Type-checks the runtime code and writes dist/ (dist/cli/gatehouse.js, …).
RUN npm run build

# ---- runtime ----
FROM ${NODE_IMAGE}
ENV NODE_ENV=production
WORKDIR /app
# Everything below is owned by root and read-only for the process (uid 65532): the code cannot be changed at
# runtime, and nothing under /app is written, so readOnlyRootFilesystem works. The only writes are /tmp (an
# emptyDir in the chart) and the proxy's --table-file (/var/lib/gatehouse, another emptyDir in the chart).
COPY --from=deps /app/node_modules ./node_modules
COPY package.json ./
COPY --from=build /src/dist/cli ./cli
COPY --from=build /src/dist/controller ./controller
COPY --from=build /src/dist/proxy ./proxy
COPY --from=build /src/dist/crds ./crds
# The demo backends (standalone --demo-upstream), compiled; the example manifests and the files they name, as they are.
COPY --from=build /src/dist/examples ./examples
COPY examples/*.yaml examples/*.html ./examples/
# The proxy's table file directory, writable by the runtime user when no volume is mounted there.
RUN mkdir -p /var/lib/gatehouse && chown 65532:65532 /var/lib/gatehouse
# Numeric, so runAsNonRoot can verify it; the same uid/gid as the chart's podSecurityContext.
USER 65532:65532
# proxy 8080 (traffic) and 9090 (admin); controller 9443 (stream) and 9091 (admin).
EXPOSE 8080 9090 9091 9443
# No tini: node is PID 1 and handles the signals itself. The kernel ignores a signal sent to PID 1 that has no
# handler, but every long-running command (standalone, controller, proxy) installs SIGTERM and SIGINT handlers that
# drain and exit, so `docker stop` / the kubelet's SIGTERM shuts it down cleanly. Gatehouse starts no child
# processes (the controller re-executes itself with execve: same pid), so there are no zombies to reap.
# (`docker run --init` adds an init anyway if wanted.) Exec form, so no shell sits between the signal and node.
ENTRYPOINT ["node", "/app/cli/gatehouse.js"]
CMD ["--help"]
