// The chart as a platform team meets it: `helm lint` and `helm template` over the Kubernetes versions
// we support and the value sets people use, with the rendered manifests parsed and checked. No
// cluster is needed here; helm-chart.test.ts installs the chart into a real apiserver.
import { beforeAll, describe, expect, it } from '@jest/globals';
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { parseAllDocuments } from 'yaml';
import { REPO_ROOT, binDir } from '../../harness/binaries.ts';

const run = promisify(execFile);
const CHART = join(REPO_ROOT, 'charts', 'dbcred');
const RELEASE = 'rel';
const NAMESPACE = 'dbcred-system';
/** The release's full name: <release>-<chart>. */
const FULLNAME = `${RELEASE}-dbcred`;
const SELECTOR = { 'app.kubernetes.io/name': 'dbcred', 'app.kubernetes.io/instance': RELEASE };
const MAP_API = 'admissionregistration.k8s.io/v1/MutatingAdmissionPolicy';
const MONITORING_API = 'monitoring.coreos.com/v1';

/**
 * The clusters we render for. helm template knows only what --api-versions tells it about the kinds
 * a cluster serves, so a cluster that serves MutatingAdmissionPolicy (GA and on by default since
 * 1.36) says so, as helm install's discovery would.
 */
const CLUSTERS = [
  { kubeVersion: '1.31.0', servesMutatingAdmissionPolicy: false },
  { kubeVersion: '1.34.0', servesMutatingAdmissionPolicy: false },
  { kubeVersion: '1.37.0', servesMutatingAdmissionPolicy: true },
];
type Cluster = (typeof CLUSTERS)[number];

/** A value set and what it should change in the rendering. */
interface ValueSet {
  name: string;
  args: string[];
  /** APIs the cluster serves besides the built-in ones (helm template --api-versions). */
  apiVersions?: string[];
  replicas: number;
  watchNamespace?: string;
  policy: boolean;
  requesterPolicy: boolean;
  serviceMonitor: boolean;
  extraArgs: string[];
}

const defaults: ValueSet = {
  name: 'the default values',
  args: [],
  replicas: 2,
  policy: true,
  requesterPolicy: true,
  serviceMonitor: false,
  extraArgs: [],
};
const VALUE_SETS: ValueSet[] = [
  defaults,
  {
    ...defaults,
    name: 'watchNamespace and adminSecretNamespaces',
    args: ['--set', 'operator.watchNamespace=team-a', '--set', 'operator.adminSecretNamespaces={db-admin}'],
    watchNamespace: 'team-a',
  },
  { ...defaults, name: 'revokeFinalizerPolicy disabled', args: ['--set', 'revokeFinalizerPolicy.enabled=false'], policy: false },
  {
    ...defaults,
    name: 'requesterPolicy disabled',
    args: ['--set', 'requesterPolicy.enabled=false'],
    requesterPolicy: false,
  },
  { ...defaults, name: 'one replica', args: ['--set', 'replicas=1'], replicas: 1 },
  {
    ...defaults,
    name: 'a ServiceMonitor',
    args: ['--set', 'metrics.serviceMonitor.enabled=true', '--set', 'metrics.serviceMonitor.labels.release=prometheus'],
    apiVersions: [MONITORING_API],
    serviceMonitor: true,
  },
  {
    ...defaults,
    name: 'extraArgs, extraEnv, pod metadata and a priority class',
    args: [
      '--set-json',
      'extraArgs=["--log-level=debug","--workers=32"]',
      '--set-json',
      'extraEnv=[{"name":"HTTPS_PROXY","value":"http://proxy:3128"}]',
      '--set',
      'podAnnotations.team=platform',
      '--set',
      'podLabels.tier=control-plane',
      '--set',
      'priorityClassName=system-cluster-critical',
    ],
    extraArgs: ['--log-level=debug', '--workers=32'],
  },
];

interface Manifest {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
}
interface Probe {
  httpGet?: { path: string; port: string | number };
  periodSeconds?: number;
  failureThreshold?: number;
}
interface Container {
  name: string;
  args?: string[];
  env?: { name: string; value?: string }[];
  ports?: { name: string; containerPort: number }[];
  startupProbe?: Probe;
  livenessProbe?: Probe;
  readinessProbe?: Probe;
  securityContext?: {
    privileged?: boolean;
    runAsUser?: number;
    allowPrivilegeEscalation?: boolean;
    readOnlyRootFilesystem?: boolean;
    capabilities?: { add?: string[]; drop?: string[] };
  };
}
interface Deployment extends Manifest {
  spec: {
    replicas: number;
    selector: { matchLabels: Record<string, string> };
    template: {
      metadata: { labels: Record<string, string>; annotations?: Record<string, string> };
      spec: {
        hostNetwork?: boolean;
        hostPID?: boolean;
        hostIPC?: boolean;
        priorityClassName?: string;
        securityContext?: { runAsNonRoot?: boolean; runAsUser?: number; fsGroup?: number; seccompProfile?: { type: string } };
        topologySpreadConstraints?: unknown[];
        initContainers?: Container[];
        containers: Container[];
      };
    };
  };
}
interface Rule {
  apiGroups?: string[];
  resources?: string[];
  verbs: string[];
}
interface Role extends Manifest {
  rules: Rule[];
}
interface Service extends Manifest {
  spec: { selector: Record<string, string>; ports: { name: string; port: number; targetPort: string | number }[] };
}
interface ServiceMonitor extends Manifest {
  spec: { selector: { matchLabels: Record<string, string> }; endpoints: { port: string; path: string; interval: string }[] };
}
interface PodDisruptionBudget extends Manifest {
  spec: { maxUnavailable?: number | string; minAvailable?: number | string; selector: { matchLabels: Record<string, string> } };
}

let helm: string;
beforeAll(async () => {
  helm = join(await binDir(['helm']), 'helm');
}, 120_000);

/** helmRun runs helm without a cluster and returns stdout; a failure rejects with helm's stderr in the message. */
async function helmRun(args: string[]): Promise<string> {
  try {
    return (await run(helm, args, { maxBuffer: 16 * 1024 * 1024 })).stdout;
  } catch (error) {
    const { stdout, stderr } = error as { stdout?: string; stderr?: string };
    throw new Error(`helm ${args.join(' ')} failed:\n${stderr ?? ''}${stdout ?? ''}`, { cause: error });
  }
}

/** render runs helm template for a cluster of that version serving those APIs, and parses every manifest. */
async function render(kubeVersion: string, args: string[], apiVersions: string[] = []): Promise<Manifest[]> {
  const out = await helmRun([
    'template',
    RELEASE,
    CHART,
    '--namespace',
    NAMESPACE,
    '--kube-version',
    kubeVersion,
    ...apiVersions.flatMap((api) => ['--api-versions', api]),
    ...args,
  ]);
  return parseAllDocuments(out)
    .map((doc) => {
      if (doc.errors.length > 0) throw new Error(`helm template printed invalid YAML: ${doc.errors.map((e) => e.message).join('; ')}`);
      return doc.toJS() as Manifest | null;
    })
    .filter((m): m is Manifest => m !== null);
}

const apisOf = (cluster: Cluster, set: ValueSet) => [
  ...(cluster.servesMutatingAdmissionPolicy ? [MAP_API] : []),
  ...(set.apiVersions ?? []),
];

/** ofKind returns the manifests of one kind (optionally one name). */
function ofKind<T extends Manifest>(manifests: Manifest[], kind: string, name?: string): T[] {
  return manifests.filter((m) => m.kind === kind && (name === undefined || m.metadata.name === name)) as T[];
}

/** only returns the one manifest of that kind and name, failing when there is none or more. */
function only<T extends Manifest>(manifests: Manifest[], kind: string, name?: string): T {
  const found = ofKind<T>(manifests, kind, name);
  expect(found.map((m) => `${m.kind}/${m.metadata.name}`)).toEqual([`${kind}/${name ?? found[0]?.metadata.name ?? '?'}`]);
  return found[0]!;
}

const operatorContainer = (d: Deployment) => d.spec.template.spec.containers.find((c) => c.name === 'operator')!;

/** finalizerRules returns the rules of a role that touch any finalizers subresource. */
const finalizerRules = (role: Role) => role.rules.filter((r) => r.resources?.some((res) => res.endsWith('/finalizers')));
const FINALIZERS_RULE: Rule = {
  apiGroups: ['dbcred.io'],
  resources: ['databasecredentials/finalizers', 'databasestaticcredentials/finalizers'],
  verbs: ['update'],
};

describe.each(CLUSTERS)('the Helm chart rendered for Kubernetes $kubeVersion', (cluster) => {
  const rendered = new Map<ValueSet, Manifest[]>();
  beforeAll(async () => {
    for (const set of VALUE_SETS) rendered.set(set, await render(cluster.kubeVersion, set.args, apisOf(cluster, set)));
  }, 120_000);
  const each = (check: (manifests: Manifest[], set: ValueSet) => void) => {
    for (const set of VALUE_SETS) {
      try {
        check(rendered.get(set)!, set);
      } catch (error) {
        throw new Error(`with ${set.name}: ${(error as Error).message}`, { cause: error });
      }
    }
  };

  it.each(VALUE_SETS.map((set) => [set.name, set] as const))('passes helm lint with %s', async (_name, set) => {
    const out = await helmRun(['lint', CHART, '--strict', '--kube-version', cluster.kubeVersion, ...set.args]);
    expect(out).toContain('1 chart(s) linted, 0 chart(s) failed');
  });

  it(`${cluster.servesMutatingAdmissionPolicy ? 'installs' : 'leaves out'} the admission policies (revoke finalizer, requester)`, () => {
    each((manifests, set) => {
      const policies = manifests.filter((m) => m.kind.startsWith('MutatingAdmissionPolicy')).map((m) => `${m.kind}/${m.metadata.name}`);
      const expected = [
        ...(set.policy ? [`${FULLNAME}-revoke-finalizer`] : []),
        ...(set.requesterPolicy ? [`${FULLNAME}-requester`] : []),
      ].flatMap((name) => [`MutatingAdmissionPolicy/${name}`, `MutatingAdmissionPolicyBinding/${name}`]);
      expect(policies.sort()).toEqual(cluster.servesMutatingAdmissionPolicy ? expected.sort() : []);
    });
  });

  it('tells the operator the requester policy, and lets it read just that policy, only where the policy is installed', () => {
    each((manifests, set) => {
      const installed = set.requesterPolicy && cluster.servesMutatingAdmissionPolicy;
      const args = operatorContainer(only<Deployment>(manifests, 'Deployment', FULLNAME)).args ?? [];
      expect(args.filter((a) => a.startsWith('--requester-policy'))).toEqual(installed ? [`--requester-policy=${FULLNAME}-requester`] : []);
      const rules = only<Role>(manifests, 'ClusterRole', FULLNAME).rules.filter((r) =>
        r.apiGroups?.includes('admissionregistration.k8s.io'),
      );
      expect(rules).toEqual(
        installed
          ? [
              {
                apiGroups: ['admissionregistration.k8s.io'],
                resources: ['mutatingadmissionpolicies', 'mutatingadmissionpolicybindings'],
                resourceNames: [`${FULLNAME}-requester`],
                verbs: ['get'],
              },
            ]
          : [],
      );
    });
  });

  it('protects more than one replica with a PodDisruptionBudget that lets a drain evict one at a time', () => {
    each((manifests, set) => {
      const budgets = ofKind<PodDisruptionBudget>(manifests, 'PodDisruptionBudget');
      if (set.replicas === 1) return expect(budgets).toEqual([]);
      expect(budgets).toHaveLength(1);
      expect(budgets[0]!.metadata.namespace).toBe(NAMESPACE);
      expect(budgets[0]!.spec).toMatchObject({ maxUnavailable: 1, selector: { matchLabels: SELECTOR } });
      expect(budgets[0]!.spec.minAvailable).toBeUndefined();
    });
  });

  it('renders a ServiceMonitor on the metrics Service only when one is asked for', () => {
    each((manifests, set) => {
      const monitors = ofKind<ServiceMonitor>(manifests, 'ServiceMonitor');
      if (!set.serviceMonitor) return expect(monitors).toEqual([]);
      expect(monitors).toHaveLength(1);
      const monitor = monitors[0]!;
      expect(monitor.apiVersion).toBe(MONITORING_API);
      expect(monitor.metadata.labels).toMatchObject({ release: 'prometheus' });
      expect(monitor.spec.endpoints).toEqual([{ port: 'metrics', path: '/metrics', interval: '30s' }]);
      const service = only<Service>(manifests, 'Service');
      expect(service.metadata.labels).toMatchObject(monitor.spec.selector.matchLabels);
    });
  });

  it('runs the operator with leader election, separate metrics and probe addresses, and the extra flags last', () => {
    each((manifests, set) => {
      const args = operatorContainer(only<Deployment>(manifests, 'Deployment', FULLNAME)).args ?? [];
      expect(args).toEqual(
        expect.arrayContaining(['--leader-elect=true', '--metrics-bind-address=:8080', '--health-probe-bind-address=:8081']),
      );
      expect(args.filter((a) => a.startsWith('--health-addr'))).toEqual([]);
      if (set.watchNamespace) expect(args).toContain(`--watch-namespace=${set.watchNamespace}`);
      if (set.extraArgs.length > 0) expect(args.slice(-set.extraArgs.length)).toEqual(set.extraArgs);
    });
  });

  it('probes on the probes port, with a startup probe patient enough for a first sync of 10,000 objects', () => {
    each((manifests) => {
      const container = operatorContainer(only<Deployment>(manifests, 'Deployment', FULLNAME));
      expect(container.ports?.map((p) => [p.name, p.containerPort])).toEqual([
        ['metrics', 8080],
        ['probes', 8081],
      ]);
      expect(container.startupProbe?.httpGet).toEqual({ path: '/healthz', port: 'probes' });
      expect(container.livenessProbe?.httpGet).toEqual({ path: '/healthz', port: 'probes' });
      expect(container.readinessProbe?.httpGet).toEqual({ path: '/readyz', port: 'probes' });
      const { periodSeconds = 10, failureThreshold = 3 } = container.startupProbe!;
      expect(periodSeconds * failureThreshold).toBeGreaterThanOrEqual(60);
    });
  });

  it('exposes only the metrics port on the Service', () => {
    each((manifests) => {
      const service = only<Service>(manifests, 'Service', `${FULLNAME}-metrics`);
      expect(service.spec.selector).toEqual(SELECTOR);
      expect(service.spec.ports.map((p) => [p.name, p.port, p.targetPort])).toEqual([['metrics', 8080, 'metrics']]);
    });
  });

  it('spreads the replicas over nodes where it can', () => {
    each((manifests) => {
      expect(only<Deployment>(manifests, 'Deployment').spec.template.spec.topologySpreadConstraints).toEqual([
        {
          maxSkew: 1,
          topologyKey: 'kubernetes.io/hostname',
          whenUnsatisfiable: 'ScheduleAnyway',
          labelSelector: { matchLabels: SELECTOR },
        },
      ]);
    });
  });

  it('renders only pods that the restricted Pod Security Standard admits', () => {
    each((manifests) => {
      for (const deployment of ofKind<Deployment>(manifests, 'Deployment')) {
        const pod = deployment.spec.template.spec;
        expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } });
        expect(pod.securityContext?.runAsUser).not.toBe(0);
        expect([pod.hostNetwork, pod.hostPID, pod.hostIPC].filter(Boolean)).toEqual([]);
        for (const container of [...(pod.initContainers ?? []), ...pod.containers]) {
          expect(container.securityContext).toMatchObject({
            allowPrivilegeEscalation: false,
            readOnlyRootFilesystem: true,
            capabilities: { drop: ['ALL'] },
          });
          expect(container.securityContext?.privileged ?? false).toBe(false);
          expect(container.securityContext?.runAsUser).not.toBe(0);
          expect(container.securityContext?.capabilities?.add ?? []).toEqual([]);
        }
      }
    });
  });

  it("lets the operator update the credential kinds' finalizers, which blockOwnerDeletion on its Secrets needs, in both RBAC modes", () => {
    each((manifests, set) => {
      const clusterRole = only<Role>(manifests, 'ClusterRole', FULLNAME);
      if (!set.watchNamespace) return expect(finalizerRules(clusterRole)).toEqual([FINALIZERS_RULE]);
      // Namespace-scoped: in the watched namespace only.
      expect(finalizerRules(clusterRole)).toEqual([]);
      const roles = ofKind<Role>(manifests, 'Role').filter((r) => finalizerRules(r).length > 0);
      expect(roles.map((r) => [r.metadata.name, r.metadata.namespace])).toEqual([[FULLNAME, set.watchNamespace]]);
      expect(finalizerRules(roles[0]!)).toEqual([FINALIZERS_RULE]);
    });
  });

  it('annotates the pods for Prometheus, and passes extraEnv, pod annotations, pod labels and the priority class', () => {
    each((manifests, set) => {
      const template = only<Deployment>(manifests, 'Deployment').spec.template;
      expect(template.metadata.annotations).toMatchObject({
        'prometheus.io/scrape': 'true',
        'prometheus.io/port': '8080',
        'prometheus.io/path': '/metrics',
      });
      expect(template.metadata.labels).toMatchObject(SELECTOR);
      if (set.extraArgs.length === 0) return expect(template.spec.priorityClassName).toBeUndefined();
      expect(template.metadata.annotations).toMatchObject({ team: 'platform' });
      expect(template.metadata.labels).toEqual({ ...SELECTOR, tier: 'control-plane' });
      expect(template.spec.priorityClassName).toBe('system-cluster-critical');
      expect(operatorContainer({ spec: { template } } as Deployment).env).toContainEqual({
        name: 'HTTPS_PROXY',
        value: 'http://proxy:3128',
      });
    });
  });
});

describe('the Helm chart, for what it cannot or should not render', () => {
  it('defaults to the image tag the Containerfile build gets: the package version, which is the appVersion', async () => {
    const chart = parseAllDocuments(await readFile(join(REPO_ROOT, 'charts', 'dbcred', 'Chart.yaml'), 'utf8'))[0]!.toJS() as {
      appVersion: string;
    };
    const pkg = JSON.parse(await readFile(join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string };
    expect(chart.appVersion).toBe(pkg.version);
  });

  it('renders no admission policy for Kubernetes 1.37 unless it is told the cluster serves MutatingAdmissionPolicy', async () => {
    const offline = await render('1.37.0', []);
    expect(offline.filter((m) => m.kind.startsWith('MutatingAdmissionPolicy'))).toEqual([]);
    // It says why instead, so `--show-only templates/revoke-finalizer-policy.yaml` (harness/crds.ts) still finds the template.
    const note = await helmRun(['template', RELEASE, CHART, '--show-only', 'templates/revoke-finalizer-policy.yaml']);
    expect(note).toMatch(/does not serve[^]*adds[^]*finalizer itself/);
  });

  it('refuses a ServiceMonitor, with a message saying why, where the Prometheus Operator API is missing or the Service is off', async () => {
    const enabled = ['--set', 'metrics.serviceMonitor.enabled=true'];
    await expect(render('1.37.0', enabled)).rejects.toThrow(/metrics\.serviceMonitor\.enabled needs the monitoring\.coreos\.com\/v1 API/);
    await expect(render('1.37.0', [...enabled, '--set', 'metrics.service.enabled=false'], [MONITORING_API])).rejects.toThrow(
      /needs metrics\.service\.enabled/,
    );
  });

  it('refuses one port for metrics and probes, an unknown value, and a bad scrape interval', async () => {
    await expect(render('1.37.0', ['--set', 'probes.port=8080'])).rejects.toThrow(/metrics\.port and probes\.port must differ/);
    await expect(render('1.37.0', ['--set', 'metrics.scrape=true'])).rejects.toThrow(/scrape/);
    await expect(render('1.37.0', ['--set', 'metrics.serviceMonitor.interval=soon'], [MONITORING_API])).rejects.toThrow(/interval/);
  });

  it('uses topologySpreadConstraints as given or none at all, and never lets podLabels replace the selector labels', async () => {
    const zones = [
      {
        maxSkew: 1,
        topologyKey: 'topology.kubernetes.io/zone',
        whenUnsatisfiable: 'DoNotSchedule',
        labelSelector: { matchLabels: SELECTOR },
      },
    ];
    const manifests = await render('1.37.0', [
      '--set-json',
      `topologySpreadConstraints=${JSON.stringify(zones)}`,
      '--set',
      'podLabels.app\\.kubernetes\\.io/instance=other',
    ]);
    const deployment = only<Deployment>(manifests, 'Deployment');
    expect(deployment.spec.template.spec.topologySpreadConstraints).toEqual(zones);
    expect(deployment.spec.template.metadata.labels).toEqual(SELECTOR);
    // The default spread can be turned off, for clusters whose scheduler applies its own.
    const plain = only<Deployment>(await render('1.37.0', ['--set', 'defaultTopologySpread=false']), 'Deployment');
    expect(plain.spec.template.spec.topologySpreadConstraints).toBeUndefined();
  });

  it('mounts the audit HMAC key from a Secret, readable by the operator alone, only when one is named', async () => {
    type WithVolumes = Deployment & {
      spec: { template: { spec: { volumes?: { name: string; secret?: { secretName: string; defaultMode?: number } }[] } } };
    };
    const keyed = only<WithVolumes>(await render('1.37.0', ['--set', 'operator.auditKeySecret.name=audit-hmac']), 'Deployment');
    expect(operatorContainer(keyed).args).toContain('--audit-key-file=/etc/dbcred/audit-key/audit-key');
    expect(keyed.spec.template.spec.volumes).toEqual([{ name: 'audit-key', secret: { secretName: 'audit-hmac', defaultMode: 0o440 } }]);
    expect(keyed.spec.template.spec.securityContext).toMatchObject({ runAsUser: 10001, fsGroup: 10001 });
    const plain = only<WithVolumes>(await render('1.37.0', []), 'Deployment');
    expect(operatorContainer(plain).args?.some((a) => a.startsWith('--audit-key-file'))).toBe(false);
    expect(plain.spec.template.spec.volumes).toBeUndefined();
  });

  it('lets podAnnotations override the Prometheus ones, and drops those with metrics.podAnnotations=false', async () => {
    const annotations = async (args: string[]) =>
      only<Deployment>(await render('1.37.0', args), 'Deployment').spec.template.metadata.annotations ?? {};
    expect(await annotations(['--set-string', 'podAnnotations.prometheus\\.io/scrape=false'])).toMatchObject({
      'prometheus.io/scrape': 'false',
    });
    expect(Object.keys(await annotations(['--set', 'metrics.podAnnotations=false']))).toEqual([]);
  });
});
