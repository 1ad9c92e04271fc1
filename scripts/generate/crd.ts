// Generates the CustomResourceDefinitions from the zod schemas, so the apiserver and the operator
// validate with one definition. `npm run generate:crds` writes them; a test fails on drift.
import { z } from 'zod';
import { GROUP, VERSION, type KindDefinition } from '../../src/api/v1alpha1/kind.ts';

type JsonSchema = Record<string, unknown>;

const SAFE_INT = Number.MAX_SAFE_INTEGER;

/** structural converts zod's JSON Schema into a Kubernetes structural schema (and checks descriptions). */
function structural(node: JsonSchema, path: string, missing: string[]): JsonSchema {
  const out: JsonSchema = {};
  for (const [key, value] of Object.entries(node)) {
    if (key === '$schema' || key === 'propertyNames') continue;
    if (key === 'additionalProperties' && value === false) continue;
    if ((key === 'maximum' && value === SAFE_INT) || (key === 'minimum' && value === -SAFE_INT)) continue;
    if (key === 'anyOf' || key === 'oneOf' || key === 'allOf' || key === '$ref') {
      throw new Error(`${path}: ${key} is not allowed in a structural schema; restructure the zod schema`);
    }
    out[key] = value;
  }
  if (node['properties']) {
    const props: Record<string, JsonSchema> = {};
    for (const [name, child] of Object.entries(node['properties'] as Record<string, JsonSchema>)) {
      const childPath = `${path}.${name}`;
      if (typeof child['description'] !== 'string' || child['description'].length === 0) missing.push(childPath);
      props[name] = structural(child, childPath, missing);
    }
    out['properties'] = props;
  }
  if (node['items']) out['items'] = structural(node['items'] as JsonSchema, `${path}[]`, missing);
  if (node['additionalProperties'] && typeof node['additionalProperties'] === 'object') {
    out['additionalProperties'] = structural(node['additionalProperties'] as JsonSchema, `${path}{}`, missing);
  }
  return out;
}

/** openApiSchema returns the structural OpenAPI v3 schema of a zod schema; it throws if a field lacks a description. */
export function openApiSchema(schema: z.ZodType, path: string): JsonSchema {
  const json = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'throw' }) as JsonSchema;
  const missing: string[] = [];
  const out = structural(json, path, missing);
  if (missing.length > 0) throw new Error(`fields without a description: ${missing.join(', ')}`);
  return out;
}

/** crdFor builds the CustomResourceDefinition object of one kind. */
export function crdFor(def: KindDefinition): JsonSchema {
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: `${def.plural}.${GROUP}`, labels: { 'app.kubernetes.io/part-of': 'dbcred' } },
    spec: {
      group: GROUP,
      names: {
        kind: def.kind,
        listKind: `${def.kind}List`,
        plural: def.plural,
        singular: def.singular,
        shortNames: def.shortNames,
        categories: ['dbcred'],
      },
      scope: def.scope,
      versions: [
        {
          name: VERSION,
          served: true,
          storage: true,
          subresources: { status: {} },
          additionalPrinterColumns: def.printerColumns,
          ...(def.selectableFields ? { selectableFields: def.selectableFields.map((jsonPath) => ({ jsonPath })) } : {}),
          schema: {
            openAPIV3Schema: {
              type: 'object',
              description: def.description,
              required: ['spec'],
              ...(def.objectRules ? { 'x-kubernetes-validations': def.objectRules } : {}),
              properties: {
                apiVersion: { type: 'string', description: 'APIVersion defines the versioned schema of this representation of an object.' },
                kind: { type: 'string', description: 'Kind is a string value representing the REST resource this object represents.' },
                metadata: { type: 'object' },
                spec: openApiSchema(def.spec, 'spec'),
                status: openApiSchema(def.status, 'status'),
              },
            },
          },
        },
      ],
    },
  };
}
