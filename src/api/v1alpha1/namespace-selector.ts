import { z } from 'zod';
import { described, labelSelector, objectName } from './schema.ts';

/** allowedNamespaces: which namespaces may use a cluster-scoped object, by name and/or label selector. */
export const allowedNamespaces = (description: string) =>
  described(
    z.object({
      names: described(z.array(objectName('A namespace name.')).max(256), 'Namespaces allowed by name.').optional(),
      selector: labelSelector('Namespaces allowed by their labels.').optional(),
    }),
    `${description} A namespace is allowed when it is named or its labels match the selector.`,
    [
      {
        rule: 'has(self.names) || has(self.selector)',
        message: 'allowedNamespaces needs names or a selector (selector: {} allows every namespace)',
        check: (v) => v.names !== undefined || v.selector !== undefined,
      },
    ],
  );
