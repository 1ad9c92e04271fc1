// Building blocks for the dbcred schemas. A field is a zod schema plus a description and CEL
// rules; each rule that can be checked on one object also carries the same check in TypeScript,
// so the apiserver (CEL) and the operator (zod) accept exactly the same objects.
import { z } from 'zod';
import { DURATION_PATTERN, parseDuration } from '../../util/duration.ts';

/** A CEL validation rule as the CRD carries it (x-kubernetes-validations), plus its zod twin. */
export interface CelRule<T> {
  rule: string;
  message: string;
  /** The same rule in TypeScript; omitted only for transition rules (they need the old object). */
  check?: (value: T) => boolean;
  /** Where the error points, relative to the field (e.g. ".maxTTL"). */
  fieldPath?: string;
  reason?: 'FieldValueInvalid' | 'FieldValueForbidden' | 'FieldValueRequired' | 'FieldValueDuplicate';
}

/** described attaches a description (shown by `kubectl explain`) and CEL rules to a schema. */
export function described<S extends z.ZodType>(schema: S, description: string, rules: CelRule<z.output<S>>[] = []): S {
  let out: z.ZodType = schema;
  for (const r of rules) {
    const check = r.check;
    if (check)
      out = out.refine((v) => check(v as z.output<S>), { message: r.message, path: r.fieldPath ? r.fieldPath.slice(1).split('.') : [] });
  }
  const validations = rules.map(({ rule, message, fieldPath, reason }) => ({
    rule,
    message,
    ...(fieldPath ? { fieldPath } : {}),
    ...(reason ? { reason } : {}),
  }));
  return out.meta({ description, ...(validations.length > 0 ? { 'x-kubernetes-validations': validations } : {}) }) as S;
}

/** immutable is the transition rule that refuses any change to a field once set. */
export function immutable<T>(what: string, hint = ''): CelRule<T> {
  return { rule: 'self == oldSelf', message: `${what} is immutable${hint ? `: ${hint}` : ''}` };
}

/** Kubernetes object name (DNS-1123 subdomain). */
export const objectName = (description: string) =>
  described(
    z
      .string()
      .min(1)
      .max(253)
      .regex(/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/),
    description,
  );

/** A Kubernetes label or annotation map (keys checked by the apiserver when the Secret is written). */
export const stringMap = (description: string) => described(z.record(z.string(), z.string().max(4096)), description).optional();

/** A database identifier (role, group or user name). The engines quote it; this pattern keeps it readable. */
export const identifier = (description: string, max = 63) =>
  described(
    z
      .string()
      .min(1)
      .max(max)
      .regex(/^[A-Za-z_][A-Za-z0-9_$.-]*$/),
    `${description} Letters, digits, _, $, . and -, starting with a letter or _; at most ${max} characters.`,
  );

const celString = (text: string) => `'${text.replaceAll('\\', '\\\\')}'`;
/** celIsDuration is the CEL test that expr is a valid duration; cross-field rules guard duration() with it. */
export const celIsDuration = (expr: string) => `${expr}.matches(${celString(DURATION_PATTERN)})`;

/** durationsCompare runs cmp on two duration texts; an invalid one passes (its own field rule reports it). */
export function durationsCompare(a: string, b: string, cmp: (a: number, b: number) => boolean): boolean {
  const x = parseDuration(a);
  const y = parseDuration(b);
  return x === undefined || y === undefined || cmp(x, y);
}

const DURATION_MESSAGE = 'must be a duration such as 90s, 15m, 24h or 1h30m (units h, m, s, ms)';

/**
 * A Go-style duration field ("90s", "15m", "24h", "1h30m") bounded by min and max (inclusive).
 * The format is a CEL rule rather than an OpenAPI pattern so the apiserver's message is readable.
 */
export function duration(description: string, bounds: { min: string; max: string }) {
  const min = parseDuration(bounds.min)!;
  const max = parseDuration(bounds.max)!;
  const format = celIsDuration('self');
  return described(
    z.string().max(32),
    `${description} A duration such as 90s, 15m, 24h or 1h30m (units h, m, s, ms), from ${bounds.min} to ${bounds.max}.`,
    [
      { rule: format, message: DURATION_MESSAGE, check: (v) => parseDuration(v) !== undefined },
      {
        rule: `!${format} || (duration(self) >= duration('${bounds.min}') && duration(self) <= duration('${bounds.max}'))`,
        message: `must be between ${bounds.min} and ${bounds.max}`,
        check: (v) => {
          const ms = parseDuration(v);
          return ms === undefined || (ms >= min && ms <= max);
        },
      },
    ],
  );
}

/** A cron schedule: five fields (minute hour day-of-month month day-of-week) or a macro such as @daily. */
export const CRON_PATTERN = '^((\\S+\\s+){4}\\S+|@(yearly|annually|monthly|weekly|daily|hourly))$';
const CRON_RE = new RegExp(CRON_PATTERN);
export const cronSchedule = (description: string, zone = 'Times are UTC.') =>
  described(
    z.string().min(1).max(100),
    `${description} Standard cron syntax with five fields (minute hour day-of-month month day-of-week), e.g. "0 3 * * *", or @hourly, @daily, @weekly, @monthly, @yearly. ${zone}`,
    [
      {
        rule: `self.matches(${celString(CRON_PATTERN)})`,
        message: 'must be a cron schedule with five fields (e.g. "0 3 * * *") or @hourly, @daily, @weekly, @monthly, @yearly',
        check: (v) => CRON_RE.test(v),
      },
    ],
  );

/** An IANA time zone name for a schedule; whether the runtime knows it is checked by the controller. */
const TIME_ZONE_PATTERN = '^[A-Za-z][A-Za-z0-9_+/-]{0,63}$';
const TIME_ZONE_RE = new RegExp(TIME_ZONE_PATTERN);
export const timeZone = (description: string) =>
  described(
    z.string().min(1).max(64),
    `${description} An IANA time zone name such as Europe/Berlin or America/New_York. Across a daylight-saving change, a time that does not exist fires as far after the gap as it was into it, and a time that occurs twice fires once.`,
    [
      {
        rule: `self.matches(${celString(TIME_ZONE_PATTERN)})`,
        message: 'must be an IANA time zone name such as Europe/Berlin or Etc/UTC',
        check: (v) => TIME_ZONE_RE.test(v),
      },
    ],
  );

/** A label selector (matchLabels and matchExpressions), as in every Kubernetes API. */
export const labelSelector = (description: string) =>
  described(
    z.object({
      matchLabels: stringMap('Labels that must all match.'),
      matchExpressions: described(
        z
          .array(
            described(
              z.object({
                key: described(z.string().min(1).max(317), 'The label key.'),
                operator: described(z.enum(['In', 'NotIn', 'Exists', 'DoesNotExist']), 'How the key relates to the values.'),
                values: described(
                  z.array(z.string().max(63)).max(64),
                  'Values for In and NotIn; empty for Exists and DoesNotExist.',
                ).optional(),
              }),
              'One label requirement.',
            ),
          )
          .max(16),
        'Label requirements that must all hold.',
      ).optional(),
    }),
    `${description} An empty selector ({}) matches everything.`,
  );

/** metav1.Condition, as every status carries them. */
export const conditions = described(
  z
    .array(
      described(
        z.object({
          type: described(z.string().min(1).max(316), 'Type of the condition (Ready, Issued, Rotating, RevocationFailing, Stalled).'),
          status: described(z.enum(['True', 'False', 'Unknown']), 'Status of the condition.'),
          reason: described(
            z
              .string()
              .min(1)
              .max(1024)
              .regex(/^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$/),
            'Machine-readable reason from the closed list in docs/crd-reference.md.',
          ),
          message: described(z.string().max(32768), 'Human-readable detail. Never contains a password.'),
          lastTransitionTime: described(z.string(), 'When the status last changed (RFC 3339).'),
          observedGeneration: described(z.number().int().min(0), 'The .metadata.generation the condition was computed from.').optional(),
        }),
        "One observation of the object's state.",
      ),
    )
    .max(16)
    .meta({ 'x-kubernetes-list-type': 'map', 'x-kubernetes-list-map-keys': ['type'] }),
  "Observations of the object's state; Ready summarises them.",
).optional();

export const observedGeneration = described(z.number().int().min(0), 'The .metadata.generation this status reflects.').optional();

/** The object metadata the operator reads; unknown fields are kept as they are. */
export const objectMeta = z.looseObject({
  name: z.string(),
  namespace: z.string().optional(),
  uid: z.string().optional(),
  generation: z.number().optional(),
  resourceVersion: z.string().optional(),
  creationTimestamp: z.string().optional(),
  deletionTimestamp: z.string().optional(),
  labels: z.record(z.string(), z.string()).optional(),
  annotations: z.record(z.string(), z.string()).optional(),
  finalizers: z.array(z.string()).optional(),
});
