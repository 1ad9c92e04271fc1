import { describe, expect, it } from '@jest/globals';
import { expiryCondition, transportCondition } from '../../../src/controllers/database-server/database-server-reconciler.ts';

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

describe("a server's ExpiryEnforced condition", () => {
  it.each([
    ['ValidUntil', 'True', 'ExpiryByDatabase'],
    ['EventScheduler', 'True', 'ExpiryByDatabase'],
    ['OperatorOnly', 'False', 'ExpiryByOperatorOnly'],
  ] as const)('%s: %s (%s)', (enforcement, status, reason) => {
    expect(expiryCondition(enforcement)).toMatchObject({ status, reason });
  });

  it('tells what to change when only the operator enforces expiry', () => {
    expect(expiryCondition('OperatorOnly').message).toContain('event_scheduler=ON');
    expect(expiryCondition('OperatorOnly').message).toContain('spec.database');
  });
});
