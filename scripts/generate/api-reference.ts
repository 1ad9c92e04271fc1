// Renders docs/crd-reference.md from the same schemas as the CRDs, so the field reference a user
// reads can never drift from what the apiserver enforces.
import { openApiSchema } from './crd.ts';
import { Reason, ConditionType } from '../../src/api/v1alpha1/conditions.ts';
import { API_VERSION, type KindDefinition } from '../../src/api/v1alpha1/kind.ts';

/** The parts of a structural schema node the reference shows. */
interface Node {
  type?: string;
  description?: string;
  default?: unknown;
  enum?: unknown[];
  minimum?: number;
  maximum?: number;
  maxLength?: number;
  maxItems?: number;
  pattern?: string;
  required?: string[];
  properties?: Record<string, Node>;
  items?: Node;
  additionalProperties?: Node;
  'x-kubernetes-validations'?: { message: string }[];
}

function typeOf(node: Node): string {
  if (node.type === 'array' && node.items) return `[]${typeOf(node.items)}`;
  if (node.type === 'object' && node.additionalProperties) return `map[string]${typeOf(node.additionalProperties)}`;
  return node.type ?? 'any';
}

function limits(node: Node): string[] {
  const out: string[] = [];
  if (node.enum) out.push(`one of ${node.enum.map((v) => `\`${typeof v === 'string' ? v : JSON.stringify(v)}\``).join(', ')}`);
  if (node.minimum !== undefined || node.maximum !== undefined) out.push(`${node.minimum ?? '…'}–${node.maximum ?? '…'}`);
  if (node.maxLength !== undefined) out.push(`max length ${node.maxLength}`);
  if (node.maxItems !== undefined) out.push(`max ${node.maxItems} items`);
  if (node.pattern) out.push(`pattern \`${node.pattern}\``);
  for (const v of node['x-kubernetes-validations'] ?? []) out.push(`rule: ${v.message}`);
  return out;
}

const cell = (text: string) => text.replaceAll('|', '\\|').replaceAll('\n', ' ');

function rows(node: Node, path: string, required: boolean, out: string[]): void {
  const def = node.default;
  const parts = [
    `\`${path}\``,
    `\`${typeOf(node)}\``,
    required ? 'yes' : '',
    def === undefined ? '' : `\`${JSON.stringify(def)}\``,
    cell([node.description ?? '', ...limits(node).map((l) => `(${l})`)].join(' ')),
  ];
  out.push(`| ${parts.join(' | ')} |`);
  const req = new Set(node.required ?? []);
  for (const [name, child] of Object.entries(node.properties ?? {})) rows(child, `${path}.${name}`, req.has(name), out);
  const itemReq = new Set(node.items?.required ?? []);
  for (const [name, child] of Object.entries(node.items?.properties ?? {})) rows(child, `${path}[].${name}`, itemReq.has(name), out);
}

/** renderReference returns the Markdown field reference of every kind. */
export function renderReference(kinds: readonly KindDefinition[]): string {
  const out = [
    '<!-- Generated from src/api/v1alpha1 by `npm run generate:crds`. Do not edit by hand. -->',
    `# dbcred API reference (\`${API_VERSION}\`)`,
    '',
    'Every kind is in the `dbcred` category (`kubectl get dbcred -A` lists them all). Durations are',
    'Go-style (`90s`, `15m`, `24h`, `1h30m`). `kubectl explain <kind>.spec.<field>` shows the same text.',
    '',
  ];
  for (const def of kinds) {
    out.push(
      `## ${def.kind}`,
      '',
      `${def.description}`,
      '',
      `Scope: ${def.scope}. Short name: \`${def.shortNames.join('`, `')}\`. Sample: [config/samples/${def.kind.toLowerCase()}.yaml](../config/samples/${def.kind.toLowerCase()}.yaml).`,
      '',
      '| field | type | required | default | description |',
      '| --- | --- | --- | --- | --- |',
    );
    rows(openApiSchema(def.spec, 'spec'), 'spec', true, out);
    rows(openApiSchema(def.status, 'status'), 'status', false, out);
    out.push('');
  }
  out.push(
    '## Conditions and reasons',
    '',
    'Condition types: ' +
      Object.values(ConditionType)
        .map((t) => `\`${t}\``)
        .join(', ') +
      '.',
    '',
    'Reasons (one closed list for conditions and Events): ' +
      Object.values(Reason)
        .map((r) => `\`${r}\``)
        .join(', ') +
      '.',
    '',
  );
  return out.join('\n');
}
