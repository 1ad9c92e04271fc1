#!/usr/bin/env bash
# The one test command (`npm test`): set-up, lint, type-check, then every jest project against a
# real control plane and real PostgreSQL and MariaDB that the harness starts. Extra arguments go
# to jest (e.g. `npm test -- --selectProjects unit`).
set -euo pipefail
cd "$(dirname "$0")/.."
# Against an external cluster (KUBECONFIG set, not the one `npm run cluster -- up` started), only
# the cluster-agnostic suites run, and no Kubernetes is built: kubectl and helm come from PATH when
# both are there, else only they are built.
external=""
if [ -n "${KUBECONFIG:-}" ] && [ -z "${DBCRED_LOCAL_STACK:-}" ]; then
  external=1
  export DBCRED_SETUP_KUBERNETES=false
  kubectl_path=$(command -v kubectl || true)
  helm_path=$(command -v helm || true)
  if [ -n "$kubectl_path" ] && [ -n "$helm_path" ] && [ "$(dirname "$kubectl_path")" = "$(dirname "$helm_path")" ]; then
    export DBCRED_BIN_DIR="$(dirname "$kubectl_path")"
  fi
fi
bash scripts/setup.sh
export PATH="$PWD/node_modules/.bin:$PATH"
[ -d /usr/local/go/bin ] && export PATH="$PATH:/usr/local/go/bin"

echo "[test] node $(node --version)"
echo "[test] lint"
eslint . --max-warnings=0
prettier --check --log-level=warn "**/*.{ts,js}" || { echo "[test] not formatted: run npm run format"; exit 1; }
echo "[test] type-check"
tsc -p tsconfig.json --noEmit

args=("$@")
# Against an external cluster, run only the suites that need no local database or node.
if [ -n "$external" ] && [ ${#args[@]} -eq 0 ]; then
  args=(--selectProjects unit kube)
fi

results=$(mktemp -t dbcred-jest-XXXXXX.json)
trap 'rm -f "$results"' EXIT
status=0
node --experimental-vm-modules node_modules/jest/bin/jest.js --ci --json --outputFile="$results" "${args[@]}" || status=$?

# The short modes of the benchmark and the chaos run (a full run only, not a selection of suites).
# The benchmark prints its figures against the targets and never fails the run; chaos fails it
# when the invariant does not hold after a kill.
extra_failed=0
if [ ${#args[@]} -eq 0 ] && [ -z "$external" ]; then
  echo "[test] bench (short)"
  node bench/bench.ts || { echo "[test] bench failed to run"; extra_failed=$((extra_failed + 1)); }
  echo "[test] chaos (short)"
  node chaos/chaos.ts || { echo "[test] chaos: the invariant did not hold"; extra_failed=$((extra_failed + 1)); }
fi
[ $extra_failed -gt 0 ] && status=1

# A closing line any CI reader understands.
node -e '
  const [file, status, extra] = process.argv.slice(1);
  let r;
  try { r = JSON.parse(require("fs").readFileSync(file, "utf8")); } catch { r = undefined; }
  if (r) console.log(`tests: ${r.numPassedTests} passed, ${r.numFailedTests + r.numRuntimeErrorTestSuites + Number(extra)} failed`);
  else if (status !== "0") console.log("tests: 0 passed, 1 failed");
' "$results" "$status" "$extra_failed"
exit $status
