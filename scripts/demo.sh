#!/usr/bin/env bash
# The main job (`npm run demo`): the operator issuing, publishing and revoking a real PostgreSQL
# user on the local stack.
#   1. the local stack (control plane, PostgreSQL, MariaDB) and the dbcred CRDs
#   2. PostgreSQL prepared as a DBA would: a table and a group role `orders_readers` for the admin
#   3. the operator (`node src/main.ts`) as its own process, until /readyz answers 200
#   4. the manifests in config/demo/: namespace, DatabaseServer, DatabaseRole, DatabaseCredential
#   5. the credential Ready, its Secret, a login with it and a query it may not run
#   6. the credential deleted: its user gone from PostgreSQL, the audit chain verified
#   7. the operator stopped and the stack torn down
# DEMO_KEEP=1 leaves the stack, the operator and the demo namespace running and says how to stop
# them. A stack that was already running (e.g. `npm run cluster -- up`) is never torn down.
# Logs: ~/.cache/dbcred/run/demo/ (operator.log, audit.log). Reruns start from scratch.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export PATH="$PWD/node_modules/.bin:$PATH"

CACHE_DIR=${DBCRED_CACHE_DIR:-$HOME/.cache/dbcred}
DEMO_DIR=$CACHE_DIR/run/demo
OP_PIDFILE=$DEMO_DIR/operator.pid
OP_LOG=$DEMO_DIR/operator.log
AUDIT_LOG=$DEMO_DIR/audit.log
NS=demo
CRED=orders-report
SECRET=orders-report-db
KEEP=${DEMO_KEEP:-0}

if [ -t 1 ]; then B=$'\e[1m' R=$'\e[0m'; else B='' R=''; fi
step() { printf '\n%s== %s%s\n' "$B" "$*" "$R"; }
# run prints a command the way a person would type it, then runs it.
run() { printf '$ %s\n' "$*"; "$@"; }
die() { printf '\ndemo: error: %s\n' "$*" >&2; exit 1; }
elapsed() { echo "$(( $(date +%s%N) / 1000000 - $1 )) ms"; }
now_ms() { echo $(( $(date +%s%N) / 1000000 )); }

# A demo operator left running by an earlier DEMO_KEEP=1 run would compete with this one.
pid_is_demo_operator() { [ -r "/proc/$1/cmdline" ] && tr '\0' ' ' <"/proc/$1/cmdline" | grep -q 'src/main.ts'; }
stop_operator() { # PID: SIGTERM, then up to 15 s for a graceful stop, then SIGKILL
  local pid=$1 i
  kill -TERM "$pid" 2>/dev/null || return 0
  for ((i = 0; i < 150; i++)); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
  echo "demo: the operator (pid $pid) did not stop within 15 s: killing it" >&2
  kill -KILL "$pid" 2>/dev/null || true
}

op_pid=''
stack_was_running=unknown # until checked: never tear down a stack we may not have started
tmp=$(mktemp -d)
on_exit() {
  local rc=$?
  rm -rf "$tmp"
  if [ "$rc" -ne 0 ]; then
    printf '\ndemo: failed (exit %s).\n' "$rc" >&2
    if [ -s "$OP_LOG" ]; then printf 'demo: last operator log lines (%s):\n' "$OP_LOG" >&2; tail -n 15 "$OP_LOG" >&2; fi
  fi
  # On failure the operator always stops; DEMO_KEEP=1 keeps it only after a successful run.
  if [ -n "$op_pid" ] && { [ "$rc" -ne 0 ] || [ "$KEEP" != 1 ]; }; then
    stop_operator "$op_pid"
    rm -f "$OP_PIDFILE"
  fi
  if [ "$KEEP" != 1 ] && [ "$stack_was_running" = no ]; then
    node scripts/cluster.ts down || true
  fi
  exit "$rc"
}
trap on_exit EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

mkdir -p "$DEMO_DIR"
if [ -r "$OP_PIDFILE" ]; then
  old=$(cat "$OP_PIDFILE")
  if pid_is_demo_operator "$old"; then
    echo "Stopping the demo operator left running by an earlier run (pid $old)"
    stop_operator "$old"
  fi
  rm -f "$OP_PIDFILE"
fi

step '1. The local stack and the dbcred CRDs'
if node scripts/cluster.ts status >/dev/null 2>&1; then stack_was_running=yes; else stack_was_running=no; fi
node scripts/cluster.ts up
# shellcheck disable=SC1091
source "$CACHE_DIR/run/stack.env"
# stack.env logs in as the operator's admin; the superuser is only in the stack record.
PG_SUPERUSER_PASSWORD=$(node -e '
  const s = JSON.parse(require("node:fs").readFileSync(process.argv[1], "utf8"));
  process.stdout.write(s.env.postgres.superuser.password);' "$CACHE_DIR/run/stack.json") ||
  die "cannot read the PostgreSQL superuser from $CACHE_DIR/run/stack.json"
run kubectl apply --server-side --force-conflicts --field-manager=dbcred-demo -f crds/
run kubectl wait --for=condition=Established --timeout=60s -f crds/

step '2. PostgreSQL, as its superuser: a table and the group role orders_readers (config/demo/postgres-setup.sql)'
echo "\$ psql -U postgres -d app -f config/demo/postgres-setup.sql"
PGUSER=postgres PGPASSWORD=$PG_SUPERUSER_PASSWORD PGDATABASE=app \
  PGOPTIONS='-c client_min_messages=warning' psql -X -q -v ON_ERROR_STOP=1 -f config/demo/postgres-setup.sql
echo "\$ psql -d app -c '\dp shop.*'"
psql -X -d app -c '\dp shop.*'
echo "\$ psql -d app -c '\du orders_readers|dbcred_admin'"
psql -X -d app -c '\du orders_readers|dbcred_admin'

step '3. The operator: node src/main.ts, as its own process'
: >"$OP_LOG"
: >"$AUDIT_LOG" # a fresh audit trail for this run (a restarted operator would continue the chain)
# --instance names this installation: its orphan sweep only drops users carrying that marker, so
# it never touches users that test runs sharing this stack's PostgreSQL created.
op_args=(--kubeconfig="$KUBECONFIG" --watch-namespace="$NS" --instance=dbcred-demo --leader-elect=false
  --health-addr=127.0.0.1:0 --audit-log="$AUDIT_LOG" --log-level=info --shutdown-grace=10s)
echo "\$ node src/main.ts ${op_args[*]} >$OP_LOG 2>&1 &"
started=$(now_ms)
setsid node src/main.ts "${op_args[@]}" </dev/null >>"$OP_LOG" 2>&1 &
op_pid=$!
echo "$op_pid" >"$OP_PIDFILE"
# The health port is chosen by the operator (127.0.0.1:0) and logged; then /readyz must say 200.
port=''
deadline=$((SECONDS + 60))
while [ -z "$port" ]; do
  kill -0 "$op_pid" 2>/dev/null || { op_pid=''; die "the operator exited during start-up (log: $OP_LOG)"; }
  [ $SECONDS -lt $deadline ] || die "the operator logged no health port within 60 s (log: $OP_LOG)"
  port=$(sed -n 's/.*"port":\([0-9]*\).*"msg":"health and metrics server listening".*/\1/p' "$OP_LOG" | head -n 1)
  [ -n "$port" ] || sleep 0.1
done
node --input-type=module -e '
  const [url, ms] = [process.argv[1], Number(process.argv[2])];
  const end = Date.now() + ms;
  for (;;) {
    const res = await fetch(url).then((r) => r.status, () => 0);
    if (res === 200) break;
    if (Date.now() > end) { console.error(`demo: ${url} still says ${res || "nothing"} after ${ms / 1000} s`); process.exit(1); }
    await new Promise((r) => setTimeout(r, 100));
  }' "http://127.0.0.1:$port/readyz" 60000 ||
  die "the operator did not become ready (log: $OP_LOG)"
echo "operator ready: pid $op_pid, http://127.0.0.1:$port/readyz says 200 after $(elapsed "$started")"
echo "  log:   $OP_LOG"
echo "  audit: $AUDIT_LOG"

if kubectl get namespace "$NS" >/dev/null 2>&1; then
  echo; echo "Removing what an earlier run left in namespace $NS (credentials first, so their users are revoked)"
  kubectl delete databasecredentials --all -n "$NS" --timeout=60s ||
    die "could not delete the earlier run's DatabaseCredentials in $NS (kubectl get dbc -n $NS -o yaml)"
  kubectl delete namespace "$NS" --timeout=90s || die "namespace $NS is still there after 90 s"
fi

step '4. The manifests in config/demo/'
run kubectl apply -f config/demo/00-namespace.yaml
# The admin Secret comes from the stack's admin login, through files only this user can read, so
# the password is never on a command line or on screen.
printf '%s' "$PGUSER" >"$tmp/username"
printf '%s' "$PGPASSWORD" >"$tmp/password"
echo "\$ kubectl create secret generic orders-db-admin -n $NS --from-file=username=… --from-file=password=…   # the stack's dbcred_admin"
kubectl create secret generic orders-db-admin -n "$NS" --from-file=username="$tmp/username" --from-file=password="$tmp/password"
rm -f "$tmp/username" "$tmp/password"
echo "\$ sed 's/\${PGHOST}/$PGHOST/; s/\${PGPORT}/$PGPORT/' config/demo/10-databaseserver.yaml | kubectl apply -f -"
sed "s/\${PGHOST}/$PGHOST/; s/\${PGPORT}/$PGPORT/" config/demo/10-databaseserver.yaml | kubectl apply -f -
run kubectl apply -f config/demo/20-databaserole.yaml -f config/demo/30-databasecredential.yaml

step '5. The credential: Ready, its Secret, a login with it'
started=$(now_ms)
if ! run kubectl wait --for=condition=Ready "databasecredential/$CRED" -n "$NS" --timeout=60s; then
  kubectl get dbcred -n "$NS" >&2 || true
  kubectl get "databasecredential/$CRED" -n "$NS" -o jsonpath='{range .status.conditions[*]}{.type}={.status} {.reason}: {.message}{"\n"}{end}' >&2 || true
  die "DatabaseCredential $CRED did not become Ready within 60 s"
fi
echo "Ready after $(elapsed "$started")"
echo
run kubectl get dbcred -n "$NS"
echo
run kubectl get databasecredential "$CRED" -n "$NS" -o jsonpath='{.status.current}{"\n"}'
echo
run kubectl describe secret "$SECRET" -n "$NS"
secret_value() { kubectl get secret "$SECRET" -n "$NS" -o "jsonpath={.data.$1}" | base64 -d; }
app_user=$(secret_value username)
[ -n "$app_user" ] || die "Secret $SECRET has no username"
echo
echo "The database side of $app_user (expiry enforced by PostgreSQL, membership of orders_readers):"
psql -X -d app -c "select r.rolname, r.rolvaliduntil, r.rolconnlimit, array(select g.rolname from pg_auth_members m join pg_roles g on g.oid = m.roleid where m.member = r.oid) as member_of, shobj_description(r.oid, 'pg_authid') as comment from pg_roles r where r.rolname = '$app_user'"
# Everything the app needs comes from the Secret, as it would in a pod.
as_app() {
  PGPASSWORD=$(secret_value password) PGUSER=$app_user PGHOST=$(secret_value host) PGPORT=$(secret_value port) \
    PGDATABASE=$(secret_value database) psql -X -v ON_ERROR_STOP=1 "$@"
}
echo '$ PGPASSWORD=<Secret password> psql -h <host> -p <port> -U <username> -d <database> -c "select current_user, count(*) from shop.orders"'
as_app -c 'select current_user, count(*) from shop.orders' || die "the issued user could not log in or read shop.orders"
echo '$ PGPASSWORD=<Secret password> psql ... -c "select * from shop.customers"   # not granted to orders_readers'
if out=$(as_app -c 'select * from shop.customers' 2>&1); then
  die "the issued user could read shop.customers, which orders_readers was never granted"
fi
grep -q 'permission denied' <<<"$out" || die "expected 'permission denied', got: $out"
echo "$out"
echo "refused, as it should be"

step '6. Deleting the credential revokes its user'
started=$(now_ms)
run kubectl delete databasecredential "$CRED" -n "$NS" --timeout=60s || die "DatabaseCredential $CRED was not deleted within 60 s"
echo "\$ psql -c \"select count(*) from pg_roles where rolname = '$app_user'\"   # until 0, at most 30 s"
deadline=$((SECONDS + 30))
while :; do
  n=$(psql -X -d app -tA -c "select count(*) from pg_roles where rolname = '$app_user'")
  [ "$n" = 0 ] && break
  [ $SECONDS -lt $deadline ] || die "user $app_user is still in pg_roles 30 s after its credential was deleted"
  sleep 0.2
done
echo "$app_user is gone from pg_roles ($(elapsed "$started") after the delete)"
# The Secret is owned by the credential: kube-controller-manager's garbage collector deletes it.
echo "\$ kubectl wait --for=delete secret/$SECRET -n $NS   # deleted by the finalizer once the user is revoked"
if ! kubectl wait --for=delete "secret/$SECRET" -n "$NS" --timeout=5s >/dev/null 2>&1; then
  # A controller-manager started moments ago learns new kinds (the CRDs) on its 30 s discovery resync.
  echo "(still there: a control plane started moments ago learns new kinds on its 30 s discovery resync, so this can take ~40 s; waiting up to 60 s)"
  kubectl wait --for=delete "secret/$SECRET" -n "$NS" --timeout=60s >/dev/null || die "Secret $SECRET was not garbage-collected within 65 s"
fi
echo "secret/$SECRET deleted ($(elapsed "$started") after the delete)"
echo
echo "The audit log ($AUDIT_LOG):"
node -e '
  for (const line of require("node:fs").readFileSync(process.argv[1], "utf8").split("\n").filter(Boolean)) {
    const r = JSON.parse(line);
    console.log(`  #${r.seq} ${r.time} ${r.action} ${r.outcome} ${r.object.namespace ?? ""}/${r.object.name} ${r.username ?? ""}`);
  }' "$AUDIT_LOG"
run node src/main.ts audit verify "$AUDIT_LOG"

step '7. Stopping'
if [ "$KEEP" = 1 ]; then
  cat <<EOF
DEMO_KEEP=1: everything stays up.
  operator (pid $op_pid, log $OP_LOG): kill $op_pid
  try it again:            kubectl apply -f config/demo/30-databasecredential.yaml   (after: source $CACHE_DIR/run/stack.env)
  remove the demo:         kubectl delete dbc --all -n $NS && kubectl delete namespace $NS
  stop the local stack:    npm run cluster -- down
EOF
  exit 0
fi
echo "\$ kill -TERM $op_pid   # the operator"
stop_operator "$op_pid"
op_pid=''
rm -f "$OP_PIDFILE"
grep -q '"msg":"manager stopped"' "$OP_LOG" && echo "operator stopped cleanly"
if [ "$stack_was_running" = yes ]; then
  # Someone else's stack stays up; only what the demo made goes.
  kubectl delete namespace "$NS" --wait=false >/dev/null
  PGUSER=postgres PGPASSWORD=$PG_SUPERUSER_PASSWORD PGOPTIONS='-c client_min_messages=warning' \
    psql -X -q -d app -c 'DROP SCHEMA IF EXISTS shop CASCADE' -c 'DROP ROLE IF EXISTS orders_readers'
  echo "The local stack was running before the demo: left running (npm run cluster -- down stops it)."
else
  echo '$ node scripts/cluster.ts down'
fi
