import { describe, expect, it } from '@jest/globals';
import { hostname } from 'node:os';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SETTING_NAMES, loadSettings, parseBindAddress, settingsHelp } from '../../../src/config/settings.ts';
import { DbcredError } from '../../../src/util/errors.ts';

/** Calls fn and returns what it threw (fails the test when it does not throw). */
function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  throw new Error('expected a throw');
}

function expectConfigInvalid(fn: () => unknown, ...mentions: string[]): void {
  const error = thrown(fn);
  expect(error).toBeInstanceOf(DbcredError);
  expect((error as DbcredError).code).toBe('CONFIG_INVALID');
  expect((error as DbcredError).retryable).toBe(false);
  for (const m of mentions) expect((error as DbcredError).message).toContain(m);
}

describe('operator settings', () => {
  it('have safe defaults when nothing is set', () => {
    expect(loadSettings([], {})).toEqual({
      instance: 'dbcred',
      leaderElect: true,
      leaderElectionNamespace: 'dbcred-system',
      identity: `${hostname()}-${process.pid}`,
      leaseDuration: 15_000,
      renewDeadline: 10_000,
      retryPeriod: 2_000,
      metricsBindAddress: ':8080',
      healthProbeBindAddress: ':8081',
      workers: 16,
      logLevel: 'info',
      auditLog: '-',
      sweepSchedule: '*/30 * * * * *',
      deadLoginScanInterval: 10_000,
      staticLoginCheckInterval: 300_000,
      scramIterations: 16,
      shutdownGrace: 20_000,
      rolloutRestarts: true,
    });
  });

  it('name each flag and variable after its setting', () => {
    expect(SETTING_NAMES).toContainEqual({
      key: 'leaderElectionNamespace',
      flag: '--leader-election-namespace',
      env: 'DBCRED_LEADER_ELECTION_NAMESPACE',
    });
    expect(SETTING_NAMES).toContainEqual({ key: 'kubeconfig', flag: '--kubeconfig', env: 'DBCRED_KUBECONFIG' });
    expect(SETTING_NAMES).toContainEqual({ key: 'scramIterations', flag: '--scram-iterations', env: 'DBCRED_SCRAM_ITERATIONS' });
  });

  it('read DBCRED_* variables over the defaults', () => {
    const s = loadSettings([], {
      DBCRED_WORKERS: '4',
      DBCRED_LOG_LEVEL: 'debug',
      DBCRED_LEADER_ELECT: 'false',
      DBCRED_WATCH_NAMESPACE: 'team-a',
      DBCRED_AUDIT_LOG: '/var/log/audit.jsonl',
    });
    expect(s).toMatchObject({
      workers: 4,
      logLevel: 'debug',
      leaderElect: false,
      watchNamespace: 'team-a',
      auditLog: '/var/log/audit.jsonl',
    });
  });

  it('let flags win over DBCRED_* variables', () => {
    const s = loadSettings(['--workers=8', '--log-level=warn'], {
      DBCRED_WORKERS: '4',
      DBCRED_LOG_LEVEL: 'debug',
      DBCRED_RETRY_PERIOD: '3s',
    });
    expect(s).toMatchObject({ workers: 8, logLevel: 'warn', retryPeriod: 3_000 });
  });

  it('take the last of repeated flags', () => {
    expect(loadSettings(['--workers=2', '--workers=3'], {}).workers).toBe(3);
  });

  it('read a bare boolean flag as true, and accept an explicit false', () => {
    expect(loadSettings(['--leader-elect'], { DBCRED_LEADER_ELECT: 'false' }).leaderElect).toBe(true);
    expect(loadSettings(['--leader-elect=false'], {}).leaderElect).toBe(false);
  });

  it('turn rollout restarts off with --rollout-restarts=false or DBCRED_ROLLOUT_RESTARTS=false', () => {
    expect(SETTING_NAMES).toContainEqual({ key: 'rolloutRestarts', flag: '--rollout-restarts', env: 'DBCRED_ROLLOUT_RESTARTS' });
    expect(loadSettings(['--rollout-restarts=false'], {}).rolloutRestarts).toBe(false);
    expect(loadSettings([], { DBCRED_ROLLOUT_RESTARTS: 'false' }).rolloutRestarts).toBe(false);
    expect(loadSettings(['--rollout-restarts'], { DBCRED_ROLLOUT_RESTARTS: 'false' }).rolloutRestarts).toBe(true);
  });

  it('keep everything after the first = as the value', () => {
    expect(loadSettings(['--sweep-schedule=0 */5 * * * *', '--identity=a=b'], {})).toMatchObject({
      sweepSchedule: '0 */5 * * * *',
      identity: 'a=b',
    });
  });

  it.each([
    ['--lease-duration', 'leaseDuration', '1m', 60_000],
    ['--renew-deadline', 'renewDeadline', '12.5s', 12_500],
    ['--retry-period', 'retryPeriod', '500ms', 500],
    ['--shutdown-grace', 'shutdownGrace', '1h30m', 5_400_000],
  ] as const)('parse %s into milliseconds', (flag, key, text, ms) => {
    expect(loadSettings([`${flag}=${text}`], {})[key]).toBe(ms);
    const env = SETTING_NAMES.find((s) => s.key === key)!.env;
    expect(loadSettings([], { [env]: text })[key]).toBe(ms);
  });

  it.each([
    [['--lease-duration=5s', '--renew-deadline=10s']],
    [['--lease-duration=0s', '--renew-deadline=0s', '--retry-period=0s']],
    [['--retry-period=10s']],
  ])('refuse leader-election timings that would let two leaders overlap: %j', (flags) => {
    expect(() => loadSettings(flags, {})).toThrow('leader election needs 0 < retryPeriod < renewDeadline < leaseDuration');
  });

  it('refuse hexadecimal and fractional counts', () => {
    expect(() => loadSettings([], { DBCRED_SCRAM_ITERATIONS: '0x10' })).toThrow('scramIterations: must be a whole number');
    expect(() => loadSettings(['--workers=2.5'], {})).toThrow('workers: must be a whole number');
  });

  it('treat an empty variable as unset', () => {
    expect(loadSettings([], { DBCRED_KUBECONFIG: '', KUBECONFIG: '/k' }).kubeconfig).toBe('/k');
  });

  describe("use controller-runtime's flag names", () => {
    it('serve metrics and probes on separate addresses, IPv6 and every-interface forms included', () => {
      const s = loadSettings(['--metrics-bind-address=[::]:9090', '--health-probe-bind-address=127.0.0.1:9091'], {});
      expect(s).toMatchObject({ metricsBindAddress: '[::]:9090', healthProbeBindAddress: '127.0.0.1:9091' });
      expect(parseBindAddress(s.metricsBindAddress)).toEqual({ host: '::', port: 9090 });
      expect(parseBindAddress(s.healthProbeBindAddress)).toEqual({ host: '127.0.0.1', port: 9091 });
      expect(parseBindAddress(':8080')).toEqual({ host: undefined, port: 8080 });
    });

    it('turn a server off with 0', () => {
      expect(parseBindAddress(loadSettings(['--metrics-bind-address=0'], {}).metricsBindAddress)).toBeUndefined();
    });

    it('keep --health-addr as an alias that puts both on one address, which the new names override', () => {
      expect(loadSettings(['--health-addr=0.0.0.0:8080'], {})).toMatchObject({
        metricsBindAddress: '0.0.0.0:8080',
        healthProbeBindAddress: '0.0.0.0:8080',
      });
      expect(loadSettings([], { DBCRED_HEALTH_ADDR: ':7000', DBCRED_METRICS_BIND_ADDRESS: ':7001' })).toMatchObject({
        metricsBindAddress: ':7001',
        healthProbeBindAddress: ':7000',
      });
    });

    it('take a value from the next argument when there is no =', () => {
      const s = loadSettings(['--workers', '4', '--leader-elect', '--log-level', 'warn'], {});
      expect(s).toMatchObject({ workers: 4, leaderElect: true, logLevel: 'warn' });
    });

    it('refuse a flag whose value is missing', () => {
      expectConfigInvalid(() => loadSettings(['--workers'], {}), '--workers needs a value');
      expectConfigInvalid(() => loadSettings(['--workers', '--leader-elect'], {}), '--workers needs a value');
    });
  });

  it('describe every flag in --help with its variable and default', () => {
    const help = settingsHelp();
    for (const { flag, env } of SETTING_NAMES) {
      expect(help).toContain(flag);
      expect(help).toContain(env);
    }
    expect(help).toContain('default :8080');
    expect(help).toContain('--health-addr');
  });

  it('are all listed in the README settings table', () => {
    const readme = readFileSync(join(import.meta.dirname, '../../../README.md'), 'utf8');
    for (const { flag } of SETTING_NAMES) expect(readme).toMatch(new RegExp(`^\\| [^|]*\`${flag}\``, 'm'));
  });

  describe('Kubernetes fallbacks', () => {
    it('use KUBECONFIG, POD_NAMESPACE and POD_NAME when the DBCRED_* variables are not set', () => {
      const s = loadSettings([], { KUBECONFIG: '/home/me/.kube/config', POD_NAMESPACE: 'ops', POD_NAME: 'dbcred-7f9c-abcde' });
      expect(s).toMatchObject({ kubeconfig: '/home/me/.kube/config', leaderElectionNamespace: 'ops', identity: 'dbcred-7f9c-abcde' });
    });

    it('give way to the DBCRED_* variables', () => {
      const s = loadSettings([], {
        KUBECONFIG: '/a',
        DBCRED_KUBECONFIG: '/b',
        POD_NAMESPACE: 'ops',
        DBCRED_LEADER_ELECTION_NAMESPACE: 'elect',
        POD_NAME: 'pod',
        DBCRED_IDENTITY: 'me',
      });
      expect(s).toMatchObject({ kubeconfig: '/b', leaderElectionNamespace: 'elect', identity: 'me' });
    });

    it('give way to flags', () => {
      const s = loadSettings(['--kubeconfig=/flag', '--leader-election-namespace=flagged', '--identity=flag-id'], {
        KUBECONFIG: '/a',
        POD_NAMESPACE: 'ops',
        POD_NAME: 'pod',
      });
      expect(s).toMatchObject({ kubeconfig: '/flag', leaderElectionNamespace: 'flagged', identity: 'flag-id' });
    });

    it('are ignored when empty', () => {
      const s = loadSettings([], { KUBECONFIG: '', POD_NAMESPACE: '', POD_NAME: '' });
      expect(s.kubeconfig).toBeUndefined();
      expect(s.leaderElectionNamespace).toBe('dbcred-system');
      expect(s.identity).toBe(`${hostname()}-${process.pid}`);
    });
  });

  describe('refuse, with CONFIG_INVALID naming the setting,', () => {
    it('an unknown flag, listing the known ones', () => {
      expectConfigInvalid(() => loadSettings(['--wokers=4'], {}), 'unknown argument --wokers', '--workers', '--lease-duration');
    });

    it('an argument that is not a --flag, without echoing its value', () => {
      expectConfigInvalid(() => loadSettings(['workers=4'], {}), 'unknown argument workers');
      const error = thrown(() => loadSettings(['--admin-password=hunter2'], {}));
      expect((error as Error).message).not.toContain('hunter2');
    });

    it.each([
      [['--workers=0'], {}, 'workers'],
      [['--workers=257'], {}, 'workers'],
      [['--workers=many'], {}, 'workers'],
      [[], { DBCRED_WORKERS: '2.5' }, 'workers'],
      [['--lease-duration=15'], {}, 'leaseDuration'],
      [[], { DBCRED_SHUTDOWN_GRACE: '1d' }, 'shutdownGrace'],
      [['--leader-elect=yes'], {}, 'leaderElect'],
      [['--rollout-restarts=off'], {}, 'rolloutRestarts'],
      [['--log-level=loud'], {}, 'logLevel'],
      [['--health-addr=8080'], {}, 'metricsBindAddress'],
      [['--health-probe-bind-address=localhost'], {}, 'healthProbeBindAddress'],
      [['--scram-iterations=0'], {}, 'scramIterations'],
      [['--leader-election-namespace='], {}, 'leaderElectionNamespace'],
      [['--audit-log='], {}, 'auditLog'],
    ] as [string[], Record<string, string>, string][])('%j %j (%s)', (argv, env, key) => {
      expectConfigInvalid(() => loadSettings(argv, env), 'invalid settings', `${key}:`);
    });

    it('every bad setting at once', () => {
      expectConfigInvalid(() => loadSettings(['--workers=0', '--log-level=loud'], {}), 'workers:', 'logLevel:');
    });

    it('a bad DBCRED_* variable even when a good flag is given for another setting', () => {
      expectConfigInvalid(() => loadSettings(['--workers=2'], { DBCRED_RETRY_PERIOD: 'soon' }), 'retryPeriod:');
    });
  });
});
