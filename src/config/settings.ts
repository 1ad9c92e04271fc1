// Operator settings: flags (--name=value or --name value) override environment variables
// (DBCRED_NAME), which override defaults. Flag names follow controller-runtime's where one exists
// (--metrics-bind-address, --health-probe-bind-address, --leader-elect); older names stay as
// aliases. Validated once at start; a bad value stops the process with a clear message.
import { hostname } from 'node:os';
import { z } from 'zod';
import { formatIssues } from '../api/v1alpha1/validate.ts';
import { DURATION_PATTERN, mustParseDuration } from '../util/duration.ts';
import { DbcredError } from '../util/errors.ts';

const duration = z.string().regex(new RegExp(DURATION_PATTERN), 'must be a duration such as 30s or 5m').transform(mustParseDuration);
const bool = z.enum(['true', 'false']).transform((v) => v === 'true');
const count = (min: number, max: number) =>
  z.string().regex(/^\d+$/, 'must be a whole number').transform(Number).pipe(z.number().int().min(min).max(max));
// host:port, :port (every interface), [ipv6]:port, or 0 (serve nothing), as controller-runtime takes them.
const bindAddress = z.string().regex(/^(0|(\[[0-9a-fA-F:.]+\]|[^:[\]]*):\d+)$/, 'must be host:port, :port, [ipv6]:port, or 0 to disable');

interface SettingSpec {
  schema: z.ZodType<unknown, string | undefined>;
  /** The default as a flag would give it; none: unset unless given. */
  default?: string;
  /** What --help and the README show when there is no plain default. */
  defaultText?: string;
  help: string;
}

/** Every setting: its parser, default and one-line meaning (for --help). */
const SPEC = {
  kubeconfig: {
    schema: z.string().optional(),
    defaultText: '$KUBECONFIG, in-cluster, or ~/.kube/config',
    help: 'kubeconfig file of the cluster to manage',
  },
  watchNamespace: {
    schema: z.string().optional(),
    defaultText: 'all namespaces',
    help: 'watch one namespace only (namespaced kinds); the orphan sweep then skips cluster servers',
  },
  instance: {
    // The first half of the ownership marker (<instance>@<cluster id>) on every user issued, so the
    // sweeps of two installations sharing a server never touch each other's users.
    schema: z.string().regex(/^[a-z0-9][a-z0-9.-]{0,62}$/, 'must be lowercase letters, digits, . and -'),
    default: 'dbcred',
    help: "this installation's name in the ownership marker <instance>@<cluster id> of the users it issues",
  },
  clusterId: {
    schema: z
      .string()
      .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/, 'must be letters, digits, ., _ and - (a Namespace uid fits)')
      .optional(),
    defaultText: 'uid of the kube-system Namespace',
    help: 'the cluster id in the ownership marker; set it where the operator may not read kube-system',
  },
  leaderElect: { schema: bool, default: 'true', help: 'only the holder of the leader Lease reconciles (run two replicas)' },
  leaderElectionNamespace: {
    schema: z.string().min(1),
    default: 'dbcred-system',
    defaultText: '$POD_NAMESPACE, else dbcred-system',
    help: 'namespace of the leader Lease; it must exist',
  },
  identity: {
    schema: z.string().min(1),
    default: `${hostname()}-${process.pid}`,
    defaultText: '$POD_NAME, else <hostname>-<pid>',
    help: "this replica's name in the Lease and in Events",
  },
  leaseDuration: { schema: duration, default: '15s', help: 'how long a Lease holds without renewal' },
  renewDeadline: { schema: duration, default: '10s', help: 'a leader that cannot renew within this stops reconciling' },
  retryPeriod: { schema: duration, default: '2s', help: 'how often replicas try to renew or acquire the Lease' },
  metricsBindAddress: { schema: bindAddress, default: ':8080', help: 'where /metrics is served (0: nowhere)' },
  healthProbeBindAddress: { schema: bindAddress, default: ':8081', help: 'where /healthz and /readyz are served (0: nowhere)' },
  workers: { schema: count(1, 256), default: '16', help: 'concurrent DatabaseCredential reconciles (one per object at a time)' },
  logLevel: {
    schema: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']),
    default: 'info',
    help: 'trace, debug, info, warn, error, fatal or silent',
  },
  auditLog: { schema: z.string().min(1), default: '-', help: 'audit trail: - for stderr, or a file to append to (its chain continues)' },
  auditKeyFile: {
    schema: z.string().optional(),
    defaultText: 'none',
    help: 'file holding a key that makes each audit hash an HMAC-SHA256 (mount it from a Secret); audit verify then needs it',
  },
  sweepSchedule: { schema: z.string().min(1), default: '*/30 * * * * *', help: 'when the leader sweeps for orphans (cron with seconds)' },
  deadLoginScanInterval: {
    schema: duration,
    default: '10s',
    help: "how often the leader reads the servers' refused logins for users it revoked or let expire (0s: never)",
  },
  staticLoginCheckInterval: {
    schema: duration,
    default: '5m',
    help: "how often the leader logs in with each DatabaseStaticCredential's Secret; a password the database refuses (changed outside dbcred) is rotated at once (0s: never)",
  },
  scramIterations: {
    // Every password the operator sets is crypto-random with at least 143 bits of entropy, so PBKDF2
    // stretching protects nothing an attacker could brute-force; PostgreSQL re-runs it at CREATE ROLE
    // (3.5 ms at 4096 iterations, ~0.6 ms at 16), so the operator keeps it low.
    schema: count(1, 1_000_000),
    default: '16',
    help: 'PBKDF2 iterations of the PostgreSQL SCRAM verifiers the operator computes',
  },
  shutdownGrace: { schema: duration, default: '20s', help: 'bound on finishing in-flight reconciles at SIGTERM' },
  requesterPolicy: {
    schema: z.string().optional(),
    defaultText: 'none',
    help: 'name of the MutatingAdmissionPolicy (and binding) stamping who asked on dbcred objects; only while it exists are the stamps recorded',
  },
  rolloutRestarts: {
    schema: bool,
    default: 'true',
    help: "restart a credential's rolloutRestartTargets after a rotation (false: skip, with a Warning Event)",
  },
} as const satisfies Record<string, SettingSpec>;

type Spec = typeof SPEC;
type Key = keyof Spec;

export const Settings = z
  .object(Object.fromEntries(Object.entries(SPEC).map(([k, s]) => [k, s.schema])) as { [K in Key]: Spec[K]['schema'] })
  .refine((s) => s.leaseDuration > 0 && s.renewDeadline < s.leaseDuration && s.retryPeriod < s.renewDeadline, {
    message: 'leader election needs 0 < retryPeriod < renewDeadline < leaseDuration',
    path: ['renewDeadline'],
  });
export type Settings = z.output<typeof Settings>;

const flagOf = (key: string) => `--${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
const envOf = (key: string) => `DBCRED_${key.replace(/[A-Z]/g, (c) => `_${c}`).toUpperCase()}`;

/** The flag and variable names of each setting, for the README and --help. */
export const SETTING_NAMES = (Object.keys(SPEC) as Key[]).map((key) => ({ key, flag: flagOf(key), env: envOf(key) }));

/** Old names that set one or more settings: --health-addr served metrics and probes on one port. */
const ALIASES: { flag: string; env: string; keys: Key[] }[] = [
  { flag: '--health-addr', env: 'DBCRED_HEALTH_ADDR', keys: ['metricsBindAddress', 'healthProbeBindAddress'] },
];

function isBool(key: Key): boolean {
  return SPEC[key].schema === bool;
}

/** loadSettings reads flags and environment; it throws CONFIG_INVALID naming each bad setting. */
export function loadSettings(argv: string[], env: NodeJS.ProcessEnv): Settings {
  const raw: Partial<Record<Key, string>> = {};
  // An empty variable counts as unset (a common leftover in manifests). Aliases first: the new name wins.
  for (const alias of ALIASES) if (env[alias.env]) for (const key of alias.keys) raw[key] = env[alias.env];
  for (const { key, env: name } of SETTING_NAMES) if (env[name]) raw[key] = env[name];
  if (env['KUBECONFIG'] && raw.kubeconfig === undefined) raw.kubeconfig = env['KUBECONFIG'];
  if (env['POD_NAMESPACE'] && raw.leaderElectionNamespace === undefined) raw.leaderElectionNamespace = env['POD_NAMESPACE'];
  if (env['POD_NAME'] && raw.identity === undefined) raw.identity = env['POD_NAME'];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const m = /^--([a-z-]+)(?:=(.*))?$/s.exec(arg);
    const flag = m ? `--${m[1]}` : undefined;
    const keys = SETTING_NAMES.find((s) => s.flag === flag)?.key ?? ALIASES.find((a) => a.flag === flag)?.keys;
    if (!m || !keys)
      throw new DbcredError(
        'CONFIG_INVALID',
        `unknown argument ${arg.split('=')[0]} (known: ${SETTING_NAMES.map((s) => s.flag).join(', ')}; see --help)`,
      );
    const targets = typeof keys === 'string' ? [keys] : keys;
    let value = m[2];
    // A boolean flag alone means true; any other flag takes the next argument when it has no =value.
    if (value === undefined && targets.every(isBool)) value = 'true';
    else if (value === undefined) {
      const next = argv[i + 1];
      if (next === undefined || next.startsWith('--')) throw new DbcredError('CONFIG_INVALID', `${flag} needs a value`);
      value = next;
      i++;
    }
    for (const key of targets) raw[key] = value;
  }
  for (const key of Object.keys(SPEC) as Key[]) {
    const fallback = (SPEC[key] as SettingSpec).default;
    if (raw[key] === undefined && fallback !== undefined) raw[key] = fallback;
  }
  const parsed = Settings.safeParse(raw);
  if (!parsed.success) throw new DbcredError('CONFIG_INVALID', `invalid settings: ${formatIssues(parsed.error.issues)}`);
  return parsed.data;
}

/** parseBindAddress turns a bind address setting into what listen() takes; undefined for 0 (serve nothing). */
export function parseBindAddress(address: string): { host: string | undefined; port: number } | undefined {
  if (address === '0') return undefined;
  const split = address.lastIndexOf(':');
  const host = address.slice(0, split).replace(/^\[(.*)\]$/, '$1');
  return { host: host === '' ? undefined : host, port: Number(address.slice(split + 1)) };
}

/** settingsHelp is the --help text: every flag with its variable, default and meaning. */
export function settingsHelp(): string {
  const lines = SETTING_NAMES.map(({ key, flag, env }) => {
    const spec: SettingSpec = SPEC[key];
    const value = isBool(key) ? '' : '=VALUE';
    const fallback = spec.defaultText ?? spec.default;
    return `  ${flag}${value}\n      ${spec.help}\n      env ${env}${fallback === undefined ? '' : `; default ${fallback}`}`;
  });
  const aliases = ALIASES.map((a) => `  ${a.flag}=VALUE  sets ${a.keys.map(flagOf).join(' and ')} (older name)`);
  return [...lines, ...aliases].join('\n');
}
