#!/usr/bin/env node
// `kubectl dbcred list|revoke …`: kubectl runs the first kubectl-dbcred on PATH with the remaining
// arguments (and KUBECONFIG in its environment), so this is the dbcred command itself.
await import('../src/main.ts');
