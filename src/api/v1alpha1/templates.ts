// Template variables: a template may use only these {{names}}; the CRD refuses anything else.

/** Variables of a role's creation and revocation statements (values are quoted by the engine). */
export const STATEMENT_VARIABLES = ['username', 'password', 'expiresAt', 'database'] as const;
/** Variables of a Secret's template keys. */
export const SECRET_VARIABLES = ['username', 'password', 'host', 'port', 'database', 'uri', 'jdbcUrl', 'expiresAt', 'caCert'] as const;

const PLACEHOLDER = /\{\{[^}]*\}\}/g;

/** unknownPlaceholders returns the {{...}} placeholders of a template that are not allowed variables. */
export function unknownPlaceholders(template: string, allowed: readonly string[]): string[] {
  return (template.match(PLACEHOLDER) ?? []).filter((p) => !allowed.includes(p.slice(2, -2)));
}

/** celAllowedPlaceholders is the CEL expression (over string `s`) that holds when s uses only allowed variables. */
export function celAllowedPlaceholders(s: string, allowed: readonly string[]): string {
  return `${s}.findAll('\\\\{\\\\{[^}]*\\\\}\\\\}').all(p, p in [${allowed.map((v) => `'{{${v}}}'`).join(', ')}])`;
}

/** describeVariables lists the variables for a description or an error message. */
export const describeVariables = (allowed: readonly string[]) => allowed.map((v) => `{{${v}}}`).join(', ');
