// Operator settings: flags (--name=value) override environment variables (DBCRED_NAME), which
// override defaults. Validated once at start; a bad value stops the process with a clear message.
import { hostname } from 'node:os';
import { z } from 'zod';
import { formatIssues } from '../api/v1alpha1/validate.ts';
import { DURATION_PATTERN, mustParseDuration } from '../util/duration.ts';
import { DbcredError } from '../util/errors.ts';

const duration = z.string().regex(new RegExp(DURATION_PATTERN), 'must be a duration such as 30s or 5m').transform(mustParseDuration);
const bool = z.enum(['true', 'false']).transform((v) => v === 'true');

export const Settings = z
  .object({
    kubeconfig: z.string().optional(),
    /** Watch one namespace only (namespaced kinds); empty: every namespace. */
    watchNamespace: z.string().optional(),
    /**
     * This installation's name, the first half of the ownership marker (<instance>@<cluster id>) its
     * users carry on both engines, so the orphan sweeps of two installations sharing a server never
     * touch each other's users.
     */
    instance: z
      .string()
      .regex(/^[a-z0-9][a-z0-9.-]{0,62}$/, 'must be lowercase letters, digits, . and -')
      .default('dbcred'),
    /**
     * The cluster's id in the ownership marker (<instance>@<cluster id>). Unset: the uid of the
     * kube-system Namespace, read at start (which needs get on it); set it where that read is not allowed.
     */
    clusterId: z
      .string()
      .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/, 'must be letters, digits, ., _ and - (a Namespace uid fits)')
      .optional(),
    leaderElect: bool.default(true),
    leaderElectionNamespace: z.string().min(1).default('dbcred-system'),
    identity: z.string().min(1).default(`${hostname()}-${process.pid}`),
    leaseDuration: duration.default(15_000),
    renewDeadline: duration.default(10_000),
    retryPeriod: duration.default(2_000),
    healthAddr: z
      .string()
      .regex(/^(\[[0-9a-fA-F:.]+\]|[^:[\]]+):\d+$/, 'must be host:port or [ipv6]:port')
      .default('0.0.0.0:8080'),
    workers: z.string().regex(/^\d+$/, 'must be a whole number').transform(Number).pipe(z.number().int().min(1).max(256)).default(16),
    logLevel: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']).default('info'),
    auditLog: z.string().min(1).default('-'),
    sweepSchedule: z.string().min(1).default('*/30 * * * * *'),
    // Every password the operator sets is crypto-random with at least 143 bits of entropy, so PBKDF2
    // stretching protects nothing an attacker could brute-force; PostgreSQL re-runs it at CREATE ROLE
    // (3.5 ms at 4096 iterations, ~0.6 ms at 16), so the operator keeps it low.
    scramIterations: z
      .string()
      .regex(/^\d+$/, 'must be a whole number')
      .transform(Number)
      .pipe(z.number().int().min(1).max(1_000_000))
      .default(16),
    shutdownGrace: duration.default(20_000),
    /**
     * Restart a credential's rolloutRestartTargets after a rotation. false: restarts are skipped
     * (with a Warning Event), for installations whose RBAC gives no write on workloads.
     */
    rolloutRestarts: bool.default(true),
  })
  .refine((s) => s.leaseDuration > 0 && s.renewDeadline < s.leaseDuration && s.retryPeriod < s.renewDeadline, {
    message: 'leader election needs 0 < retryPeriod < renewDeadline < leaseDuration',
    path: ['renewDeadline'],
  });
export type Settings = z.output<typeof Settings>;

/** The flag and variable names of each setting, for the README and --help. */
export const SETTING_NAMES = Object.keys(Settings.shape).map((k) => ({
  key: k,
  flag: `--${k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`,
  env: `DBCRED_${k.replace(/[A-Z]/g, (c) => `_${c}`).toUpperCase()}`,
}));

/** loadSettings reads flags and environment; it throws CONFIG_INVALID naming each bad setting. */
export function loadSettings(argv: string[], env: NodeJS.ProcessEnv): Settings {
  const raw: Record<string, string> = {};
  // An empty variable counts as unset (a common leftover in manifests).
  for (const { key, env: name } of SETTING_NAMES) if (env[name]) raw[key] = env[name];
  if (env['KUBECONFIG'] && raw['kubeconfig'] === undefined) raw['kubeconfig'] = env['KUBECONFIG'];
  if (env['POD_NAMESPACE'] && raw['leaderElectionNamespace'] === undefined) raw['leaderElectionNamespace'] = env['POD_NAMESPACE'];
  if (env['POD_NAME'] && raw['identity'] === undefined) raw['identity'] = env['POD_NAME'];
  for (const arg of argv) {
    const m = /^--([a-z-]+)(?:=(.*))?$/.exec(arg);
    const known = m && SETTING_NAMES.find((s) => s.flag === `--${m[1]}`);
    if (!m || !known)
      throw new DbcredError(
        'CONFIG_INVALID',
        `unknown argument ${arg.split('=')[0]} (known: ${SETTING_NAMES.map((s) => s.flag).join(', ')})`,
      );
    raw[known.key] = m[2] ?? 'true';
  }
  const parsed = Settings.safeParse(raw);
  if (!parsed.success) throw new DbcredError('CONFIG_INVALID', `invalid settings: ${formatIssues(parsed.error.issues)}`);
  return parsed.data;
}
