# syntax=docker/dockerfile:1
# The Gatehouse image: its entrypoint is `gatehouse` (cli/gatehouse.ts, run by Node's type stripping: no build
# step), the command is the argument, e.g. `controller …` or `proxy …` as charts/gatehouse passes them.
#
#   docker build -t gatehouse:0.1.0 .          (from the repository root; see charts/README.md)
#
# test/e2e/image-files.test.ts reads this file: every path the COPY lines take from the build context must exist
# and not be in .dockerignore, and the runtime stage's files (plus the production dependencies) must be enough to
# run the entrypoint. Keep the COPY lists explicit (no `COPY . .`).

ARG NODE_IMAGE=node:24-bookworm-slim

# ---- production dependencies, exactly as locked ----
FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
# --ignore-scripts: no production dependency has an install script (no native addon), and none may run here.
RUN npm ci --omit=dev --ignore-scripts

# ---- runtime ----
FROM ${NODE_IMAGE}
ENV NODE_ENV=production
WORKDIR /app
# Everything below is owned by root and read-only for the process (uid 65532): the code cannot be changed at
# runtime, and nothing under /app is written, so readOnlyRootFilesystem works. The only writes are /tmp (an
# emptyDir in the chart) and the proxy's --table-file (/var/lib/gatehouse, another emptyDir in the chart).
COPY --from=deps /app/node_modules ./node_modules
COPY package.json ./
COPY cli ./cli
COPY controller ./controller
COPY proxy ./proxy
COPY crds ./crds
COPY examples ./examples
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
ENTRYPOINT ["node", "/app/cli/gatehouse.ts"]
CMD ["--help"]
