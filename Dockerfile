# syntax=docker/dockerfile:1
#
# The one rds-csi image: controller, worker, node plugin and the operator CLI are the same binary; the first argument
# picks the subcommand (the Helm chart runs `controller`, `worker` and `node`).
#
#   docker build -t rds-csi:0.1.0 .
#   docker run --rm rds-csi:0.1.0 --help
#
# test/helm/dockerfile.test.ts checks this file (stages, packages, entrypoint, what the runtime copies) where no
# Docker engine is available.

ARG NODE_IMAGE=node:20-bookworm-slim

# ---- build: all dependencies (TypeScript, type packages), compile src/ to dist/src/ ----------------------------------
FROM ${NODE_IMAGE} AS build
WORKDIR /build
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json ./
COPY proto ./proto
COPY src ./src
RUN npm run build

# ---- runtime: production dependencies only, the compiled code, the CSI proto ----------------------------------------
FROM ${NODE_IMAGE} AS runtime

# What the node plugin runs on the host's devices (and `rds-csi doctor node` checks):
#   nvme-cli    nvme connect/disconnect/list-subsys (NVMe/TCP, nvme-cli 2.x)
#   e2fsprogs   mkfs.ext4, resize2fs
#   xfsprogs    mkfs.xfs, xfs_growfs
#   util-linux  blkid
#   mount       mount, umount, losetup (util-linux's mount tools are their own package on Debian)
#   cryptsetup-bin  cryptsetup (encryption at rest: LUKS2 on the node, README "Encryption at rest")
#   kmod        modprobe (e.g. `kubectl exec … modprobe nvme-tcp`, with the host's /lib/modules that the chart mounts)
#   tini        PID 1: forwards signals and reaps the tools' exited children
#   dbus-bin    dbus-send: the node-shutdown check asks the host's logind/systemd (src/node/shutdown-signal.ts)
RUN apt-get update \
 && apt-get install -y --no-install-recommends nvme-cli e2fsprogs xfsprogs util-linux mount cryptsetup-bin kmod tini dbus-bin \
 && rm -rf /var/lib/apt/lists/*

ENV NODE_ENV=production
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund \
 && npm cache clean --force \
 && rm -rf /root/.npm /tmp/*
COPY proto ./proto
COPY --from=build /build/dist/src ./dist/src

# `rds-csi …` on PATH, for `kubectl exec … -- rds-csi doctor controller` and the other operator commands.
# Everything under /app world-readable (directories searchable): the controller and worker run as uid 65532 with a
# read-only root filesystem, the node plugin as root.
RUN printf '#!/bin/sh\nexec node /app/dist/src/cli/main.js "$@"\n' > /usr/local/bin/rds-csi \
 && chmod 0755 /usr/local/bin/rds-csi \
 && chmod -R a+rX,go-w /app

LABEL org.opencontainers.image.title="rds-csi" \
      org.opencontainers.image.description="Kubernetes CSI driver for MikroTik ROSE Data Server (RDS), NVMe/TCP" \
      org.opencontainers.image.licenses="Apache-2.0"

# The same non-root user as the chart's controller and worker; the chart runs the node plugin as root (privileged).
USER 65532:65532
ENTRYPOINT ["/usr/bin/tini", "--", "node", "/app/dist/src/cli/main.js"]
CMD ["--help"]
