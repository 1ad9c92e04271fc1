// Who may use what (I7): namespaced roles only from their own namespace; cluster roles and cluster
// servers only from the namespaces they allow, by name or by label selector. Pure functions.

export interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: { key: string; operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist'; values?: string[] }[];
}

export interface AllowedNamespaces {
  names?: string[];
  selector?: LabelSelector;
}

/** selectorMatches applies a Kubernetes label selector; an empty selector matches everything. */
export function selectorMatches(selector: LabelSelector, labels: Record<string, string>): boolean {
  for (const [k, v] of Object.entries(selector.matchLabels ?? {})) if (labels[k] !== v) return false;
  for (const e of selector.matchExpressions ?? []) {
    const has = Object.hasOwn(labels, e.key);
    const value = labels[e.key];
    const inValues = value !== undefined && (e.values ?? []).includes(value);
    switch (e.operator) {
      case 'In':
        if (!inValues) return false;
        break;
      case 'NotIn':
        if (inValues) return false;
        break;
      case 'Exists':
        if (!has) return false;
        break;
      case 'DoesNotExist':
        if (has) return false;
        break;
    }
  }
  return true;
}

/** namespaceAllowed: named, or labels match the selector; nothing allowed when `allowed` is undefined. */
export function namespaceAllowed(allowed: AllowedNamespaces | undefined, namespace: string, labels: Record<string, string>): boolean {
  if (!allowed) return false;
  if (allowed.names?.includes(namespace)) return true;
  return allowed.selector !== undefined && selectorMatches(allowed.selector, labels);
}
