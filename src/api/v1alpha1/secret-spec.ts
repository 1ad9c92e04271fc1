import { z } from 'zod';
import { described, objectName, stringMap } from './schema.ts';
import { SECRET_VARIABLES, celAllowedPlaceholders, describeVariables, unknownPlaceholders } from './templates.ts';

const SECRET_KEY = /^[-._a-zA-Z0-9]+$/;

/** The Secret a credential is published in. */
export const secretSpec = described(
  z.object({
    name: objectName('Name of the Secret. Default: the name of this object. Immutable.').optional(),
    labels: stringMap('Extra labels on the Secret.'),
    annotations: stringMap('Extra annotations on the Secret.'),
    template: described(
      z.record(z.string().min(1).max(253), z.string().max(2048)).meta({ maxProperties: 32 }),
      `Extra keys to render, e.g. DATABASE_URL: "postgres://{{username}}:{{password}}@{{host}}:{{port}}/{{database}}". Variables: ${describeVariables(SECRET_VARIABLES)}. The default keys username, password, host, port, database, uri and jdbc-url are always written.`,
      [
        {
          rule: "self.all(k, k.matches('^[-._a-zA-Z0-9]+$'))",
          message: 'secret.template keys must be valid Secret keys: letters, digits, -, _ and .',
          check: (v) => Object.keys(v).every((k) => SECRET_KEY.test(k)),
        },
        {
          rule: `self.all(k, ${celAllowedPlaceholders('self[k]', SECRET_VARIABLES)})`,
          message: `secret.template values may only use the variables ${describeVariables(SECRET_VARIABLES)}`,
          check: (v) => Object.values(v).every((t) => unknownPlaceholders(t, SECRET_VARIABLES).length === 0),
        },
      ],
    ).optional(),
  }),
  'The Secret the credential is published in (owned by this object, so it is deleted with it).',
  [
    {
      rule: 'has(self.name) == has(oldSelf.name) && (!has(self.name) || self.name == oldSelf.name)',
      message: 'secret.name is immutable',
    },
  ],
).default({});

/** Workloads restarted (pod-template annotation) when the Secret changes. */
export const rolloutRestartTargets = described(
  z
    .array(
      described(
        z.object({
          kind: described(z.enum(['Deployment', 'StatefulSet', 'DaemonSet']), 'Kind of the workload.'),
          name: objectName('Name of the workload in this namespace.'),
        }),
        'A workload in this namespace.',
      ),
    )
    .max(16),
  'Workloads in this namespace whose pods are restarted (by a pod-template annotation) when the Secret gets a new user, for apps that read credentials only at start.',
).optional();
