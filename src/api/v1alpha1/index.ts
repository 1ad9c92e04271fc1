// The dbcred.io/v1alpha1 API: six kinds, their schemas and inferred types.
import { clusterDatabaseRoleKind } from './cluster-database-role.ts';
import { clusterDatabaseServerKind } from './cluster-database-server.ts';
import { databaseCredentialKind } from './database-credential.ts';
import { databaseRoleKind } from './database-role.ts';
import { databaseServerKind } from './database-server.ts';
import { databaseStaticCredentialKind } from './database-static-credential.ts';
import type { KindDefinition } from './kind.ts';

export * from './kind.ts';
export * from './conditions.ts';
export * from './annotations.ts';
export * from './database-server.ts';
export * from './cluster-database-server.ts';
export * from './server-policy.ts';
export * from './database-role.ts';
export * from './cluster-database-role.ts';
export * from './database-credential.ts';
export * from './database-static-credential.ts';
export * from './validate.ts';

/** Every kind of the API, in the order the README documents them. */
export const KINDS: readonly KindDefinition[] = [
  databaseServerKind,
  clusterDatabaseServerKind,
  databaseRoleKind,
  clusterDatabaseRoleKind,
  databaseCredentialKind,
  databaseStaticCredentialKind,
];
