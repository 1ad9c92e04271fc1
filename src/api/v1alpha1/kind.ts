import type { z } from 'zod';

/** The API group and version of every dbcred kind. */
export const GROUP = 'dbcred.io';
export const VERSION = 'v1alpha1';
export const API_VERSION = `${GROUP}/${VERSION}`;

/** A printer column of `kubectl get`. */
export interface PrinterColumn {
  name: string;
  type: 'string' | 'integer' | 'date' | 'boolean' | 'number';
  jsonPath: string;
  description: string;
  priority?: number;
}

/** Everything needed to generate a kind's CRD and to validate its objects. */
export interface KindDefinition {
  kind: string;
  plural: string;
  singular: string;
  shortNames: string[];
  scope: 'Namespaced' | 'Cluster';
  description: string;
  spec: z.ZodType;
  status: z.ZodType;
  /** CEL rules on the whole spec that refer to metadata are not allowed; these apply to .spec. */
  printerColumns: PrinterColumn[];
  /** Fields `kubectl get/delete --field-selector` may filter on (the CRD's selectableFields), e.g. .spec.roleRef.name. */
  selectableFields?: string[];
  /** CEL rules on the whole object (they may read metadata.name), with the message the apiserver gives. */
  objectRules?: { rule: string; message: string }[];
}

/** Credentials name their Secret with a label of their own name, and label values stop at 63 characters. */
export const labelSafeName = {
  rule: 'self.metadata.name.size() <= 63',
  message: 'the name must be at most 63 characters: it becomes the dbcred.io/credential label of the Secret',
};

/** Columns that every dbcred kind shows. */
export const readyColumns: PrinterColumn[] = [
  {
    name: 'Ready',
    type: 'string',
    jsonPath: '.status.conditions[?(@.type=="Ready")].status',
    description: 'Whether the object does its job now.',
  },
  { name: 'Reason', type: 'string', jsonPath: '.status.conditions[?(@.type=="Ready")].reason', description: 'Why it is (not) ready.' },
];
export const ageColumn: PrinterColumn = {
  name: 'Age',
  type: 'date',
  jsonPath: '.metadata.creationTimestamp',
  description: 'Time since creation.',
};
