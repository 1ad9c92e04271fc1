import { describe, expect, it } from '@jest/globals';
import { transportCondition } from '../../../src/controllers/database-server/database-server-reconciler.ts';

describe("a server's TransportVerified condition", () => {
  it.each([
    ['verify-full', 'True', 'CertificateVerified'],
    ['verify-ca', 'True', 'CertificateVerified'],
    ['require', 'False', 'TLSUnverified'],
    ['disable', 'False', 'TLSDisabled'],
  ] as const)('%s: %s (%s)', (mode, status, reason) => {
    const condition = transportCondition(mode);
    expect({ status: condition.status, reason: condition.reason }).toEqual({ status, reason });
  });

  it('tells what to do when the certificate is not checked', () => {
    for (const mode of ['require', 'disable'] as const) expect(transportCondition(mode).message).toContain('use verify-full');
  });
});
