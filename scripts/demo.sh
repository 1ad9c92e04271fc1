#!/usr/bin/env bash
# The main job (`npm run demo`): brings up the local control plane, PostgreSQL and MariaDB, shows
# them with kubectl and the database clients, then stops them (DEMO_KEEP=1 leaves them running).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export PATH="$PWD/node_modules/.bin:$PATH"

node scripts/cluster.ts up
# shellcheck disable=SC1091
source "${DBCRED_CACHE_DIR:-$HOME/.cache/dbcred}/run/stack.env"
[ "${DEMO_KEEP:-}" = 1 ] || trap 'node scripts/cluster.ts down' EXIT

echo; echo '$ kubectl version'
kubectl version
echo; echo '$ kubectl get namespaces'
kubectl get namespaces
echo; echo '$ kubectl get serviceaccounts -n default   # created by the controller-manager'
kubectl get serviceaccounts -n default
echo; echo '$ psql -c "select current_user, version()"'
psql -X -c 'select current_user, version()'
echo; echo '$ mariadb -e "select current_user(), version()"'
mariadb --protocol=tcp -h "$MYSQL_HOST" -P "$MYSQL_TCP_PORT" -u "$MYSQL_USER" "$MYSQL_DATABASE" -e 'select current_user(), version()'
