#!/usr/bin/env bash
# Validates the Helm chart deployments/helm/clvstream with a real helm.
#
#   scripts/helm.sh          (make deploy-check runs it; so does make test)
#
#   1. helm $HELM_VERSION, built from its Go module into .cache/bin when
#      missing (about 2 minutes and ~500 MB of module and build cache the
#      first time; nothing afterwards). CLV_HELM=/path/to/helm uses yours.
#   2. helm lint --strict, with the default values and with the
#      ServiceMonitor enabled.
#   3. helm template of both, decoded strictly into the Kubernetes API
#      types (deployments/helm/kubecheck: unknown or misspelt fields, wrong
#      types and unexpected kinds fail).
#   4. go test ./deployments/helm/: the kinds, labels, ports, probes,
#      security settings and grace period, and the rendered configuration
#      with the Secret's variables loaded by clvstream's own config loader.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
HELM_VERSION="${HELM_VERSION:-v3.22.0}"
BIN="$ROOT/.cache/bin"
CHART=deployments/helm/clvstream
GO="${GO:-go}"

HELM="${CLV_HELM:-}"
if [ -z "$HELM" ]; then
  HELM="$BIN/helm"
  # The stamp records the version built; a different HELM_VERSION rebuilds.
  if [ ! -x "$HELM" ] || [ "$(cat "$BIN/helm.version" 2>/dev/null)" != "$HELM_VERSION" ]; then
    echo "helm.sh: building helm $HELM_VERSION into .cache/bin (first run only, about 2 minutes; progress every 15 s)" >&2
    mkdir -p "$BIN"
    start=$(date +%s)
    # go install is silent for minutes: -v names each package compiled and
    # the go command names each module downloaded; both go to a log, and a
    # line every 15 s says how far it got. The log is shown on failure.
    log="$(mktemp)"
    GOBIN="$BIN" "$GO" install -v "helm.sh/helm/v3/cmd/helm@$HELM_VERSION" >"$log" 2>&1 &
    pid=$!
    while kill -0 "$pid" 2>/dev/null; do
      for _ in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15; do
        kill -0 "$pid" 2>/dev/null || break
        sleep 1
      done
      kill -0 "$pid" 2>/dev/null || break
      echo "helm.sh: ... $(( $(date +%s) - start ))s: $(grep -c '^go: downloading' "$log") modules downloaded, $(grep -vc '^go: ' "$log") packages compiled" >&2
    done
    if ! wait "$pid"; then
      echo "helm.sh: building helm failed:" >&2
      cat "$log" >&2
      rm -f "$log"
      exit 1
    fi
    echo "helm.sh: built helm in $(( $(date +%s) - start ))s ($(grep -c '^go: downloading' "$log") modules downloaded, $(grep -vc '^go: ' "$log") packages compiled)" >&2
    rm -f "$log"
    echo "$HELM_VERSION" > "$BIN/helm.version"
  fi
fi

# kubecheck is its own module (it needs k8s.io/api, which clvstream's
# module should not); the build is cached after the first run.
(cd deployments/helm/kubecheck && "$GO" vet . && "$GO" build -o "$BIN/kubecheck" .)

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
for variant in default servicemonitor; do
  args=()
  if [ "$variant" = servicemonitor ]; then
    args=(--set serviceMonitor.enabled=true --set serviceMonitor.labels.release=prometheus)
  fi
  echo "== $variant values"
  "$HELM" lint --strict "$CHART" "${args[@]}"
  "$HELM" template clvstream "$CHART" --namespace clvstream "${args[@]}" > "$tmp/$variant.yaml"
  "$BIN/kubecheck" < "$tmp/$variant.yaml"
done
if ! grep -q '^kind: ServiceMonitor$' "$tmp/servicemonitor.yaml" || grep -q '^kind: ServiceMonitor$' "$tmp/default.yaml"; then
  echo "helm.sh: the ServiceMonitor must render exactly when serviceMonitor.enabled is true" >&2
  exit 1
fi

echo "== go test ./deployments/helm/"
CLV_HELM="$HELM" CLV_TEST_REQUIRE_HELM=1 "$GO" test -count=1 ./deployments/helm/
echo "helm.sh: chart OK"
