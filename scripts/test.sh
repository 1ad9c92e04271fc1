#!/usr/bin/env bash
# The one test command (`npm test`): set-up, lint, type-check, then every jest project against a
# real control plane and real PostgreSQL and MariaDB that the harness starts. Extra arguments go
# to jest (e.g. `npm test -- --selectProjects unit`).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export PATH="$PWD/node_modules/.bin:$PATH"
[ -d /usr/local/go/bin ] && export PATH="$PATH:/usr/local/go/bin"

echo "[test] node $(node --version)"
echo "[test] lint"
eslint . --max-warnings=0
echo "[test] type-check"
tsc -p tsconfig.json --noEmit

args=("$@")
# Against an external cluster (KUBECONFIG set), run only the suites that need no local database.
if [ -n "${KUBECONFIG:-}" ] && [ -z "${DBCRED_LOCAL_STACK:-}" ] && [ ${#args[@]} -eq 0 ]; then
  args=(--selectProjects unit kube)
fi

results=$(mktemp -t dbcred-jest-XXXXXX.json)
trap 'rm -f "$results"' EXIT
status=0
node --experimental-vm-modules node_modules/jest/bin/jest.js --ci --json --outputFile="$results" "${args[@]}" || status=$?
# A closing line any CI reader understands.
node -e '
  const [file, status] = process.argv.slice(1);
  let r;
  try { r = JSON.parse(require("fs").readFileSync(file, "utf8")); } catch { r = undefined; }
  if (r) console.log(`tests: ${r.numPassedTests} passed, ${r.numFailedTests + r.numRuntimeErrorTestSuites} failed`);
  else if (status !== "0") console.log("tests: 0 passed, 1 failed");
' "$results" "$status"
exit $status
