import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { namespaceAllowed, selectorMatches, type LabelSelector } from '../../../src/controllers/tenancy.ts';

const team = { team: 'payments', env: 'prod' };

describe('selectorMatches: Kubernetes label selectors', () => {
  it('matches every label set when the selector is empty', () => {
    fc.assert(
      fc.property(
        fc.dictionary(fc.string(), fc.string()),
        (labels) => selectorMatches({}, labels) && selectorMatches({ matchLabels: {}, matchExpressions: [] }, labels),
      ),
    );
  });

  describe('matchLabels', () => {
    it('matches when every listed label has exactly that value', () => {
      expect(selectorMatches({ matchLabels: { team: 'payments' } }, team)).toBe(true);
      expect(selectorMatches({ matchLabels: { team: 'payments', env: 'prod' } }, team)).toBe(true);
    });

    it('does not match when one label has another value or is missing', () => {
      expect(selectorMatches({ matchLabels: { team: 'payments', env: 'dev' } }, team)).toBe(false);
      expect(selectorMatches({ matchLabels: { tier: 'gold' } }, team)).toBe(false);
      expect(selectorMatches({ matchLabels: { team: '' } }, {})).toBe(false);
    });

    it('compares values exactly (case and whitespace matter)', () => {
      expect(selectorMatches({ matchLabels: { team: 'Payments' } }, team)).toBe(false);
      expect(selectorMatches({ matchLabels: { team: 'payments ' } }, team)).toBe(false);
    });
  });

  describe('matchExpressions', () => {
    const expr = (e: NonNullable<LabelSelector['matchExpressions']>[number]): LabelSelector => ({ matchExpressions: [e] });

    it('In: matches when the label has one of the values', () => {
      expect(selectorMatches(expr({ key: 'env', operator: 'In', values: ['staging', 'prod'] }), team)).toBe(true);
      expect(selectorMatches(expr({ key: 'env', operator: 'In', values: ['staging', 'dev'] }), team)).toBe(false);
    });

    it('In: never matches a namespace without the label', () => {
      expect(selectorMatches(expr({ key: 'tier', operator: 'In', values: ['gold', ''] }), team)).toBe(false);
    });

    it('NotIn: matches when the label has none of the values, or is absent', () => {
      expect(selectorMatches(expr({ key: 'env', operator: 'NotIn', values: ['dev', 'staging'] }), team)).toBe(true);
      expect(selectorMatches(expr({ key: 'env', operator: 'NotIn', values: ['prod'] }), team)).toBe(false);
      expect(selectorMatches(expr({ key: 'tier', operator: 'NotIn', values: ['gold'] }), team)).toBe(true);
    });

    it('Exists: matches when the label is present, whatever its value (even empty)', () => {
      expect(selectorMatches(expr({ key: 'team', operator: 'Exists' }), team)).toBe(true);
      expect(selectorMatches(expr({ key: 'flag', operator: 'Exists' }), { flag: '' })).toBe(true);
      expect(selectorMatches(expr({ key: 'tier', operator: 'Exists' }), team)).toBe(false);
    });

    it('DoesNotExist: matches only when the label is absent', () => {
      expect(selectorMatches(expr({ key: 'tier', operator: 'DoesNotExist' }), team)).toBe(true);
      expect(selectorMatches(expr({ key: 'team', operator: 'DoesNotExist' }), team)).toBe(false);
      expect(selectorMatches(expr({ key: 'flag', operator: 'DoesNotExist' }), { flag: '' })).toBe(false);
    });

    it('treats inherited object properties as absent labels', () => {
      expect(selectorMatches(expr({ key: 'constructor', operator: 'Exists' }), {})).toBe(false);
      expect(selectorMatches(expr({ key: 'toString', operator: 'DoesNotExist' }), {})).toBe(true);
      expect(selectorMatches(expr({ key: 'toString', operator: 'In', values: ['x'] }), {})).toBe(false);
    });

    it('requires every expression and every matchLabel to hold (AND)', () => {
      const selector: LabelSelector = {
        matchLabels: { team: 'payments' },
        matchExpressions: [
          { key: 'env', operator: 'In', values: ['prod'] },
          { key: 'quarantine', operator: 'DoesNotExist' },
        ],
      };
      expect(selectorMatches(selector, team)).toBe(true);
      expect(selectorMatches(selector, { ...team, quarantine: 'yes' })).toBe(false);
      expect(selectorMatches(selector, { ...team, team: 'search' })).toBe(false);
      expect(selectorMatches(selector, { ...team, env: 'dev' })).toBe(false);
    });
  });

  it('In and NotIn with the same values are exact opposites for a present label', () => {
    fc.assert(
      fc.property(
        fc.string(),
        fc.array(fc.string()),
        (value, values) =>
          selectorMatches({ matchExpressions: [{ key: 'k', operator: 'In', values }] }, { k: value }) !==
          selectorMatches({ matchExpressions: [{ key: 'k', operator: 'NotIn', values }] }, { k: value }),
      ),
    );
  });
});

describe('namespaceAllowed: which namespaces may use a cluster role or server', () => {
  it('allows nothing when allowedNamespaces is not set', () => {
    expect(namespaceAllowed(undefined, 'default', {})).toBe(false);
    expect(namespaceAllowed(undefined, 'payments', team)).toBe(false);
  });

  it('allows nothing when neither names nor selector are given', () => {
    expect(namespaceAllowed({}, 'payments', team)).toBe(false);
    expect(namespaceAllowed({ names: [] }, 'payments', team)).toBe(false);
  });

  it('allows the listed names, exactly', () => {
    const allowed = { names: ['payments', 'search'] };
    expect(namespaceAllowed(allowed, 'payments', {})).toBe(true);
    expect(namespaceAllowed(allowed, 'search', {})).toBe(true);
    expect(namespaceAllowed(allowed, 'payment', {})).toBe(false);
    expect(namespaceAllowed(allowed, 'payments-dev', {})).toBe(false);
  });

  it('allows namespaces whose labels match the selector', () => {
    const allowed = { selector: { matchLabels: { team: 'payments' } } };
    expect(namespaceAllowed(allowed, 'anything', team)).toBe(true);
    expect(namespaceAllowed(allowed, 'anything', { team: 'search' })).toBe(false);
  });

  it('allows a namespace that is named OR matches the selector', () => {
    const allowed = { names: ['legacy'], selector: { matchLabels: { team: 'payments' } } };
    expect(namespaceAllowed(allowed, 'legacy', {})).toBe(true);
    expect(namespaceAllowed(allowed, 'new', team)).toBe(true);
    expect(namespaceAllowed(allowed, 'other', { team: 'search' })).toBe(false);
  });

  it('allows every namespace with an empty selector', () => {
    fc.assert(
      fc.property(fc.string(), fc.dictionary(fc.string(), fc.string()), (namespace, labels) =>
        namespaceAllowed({ selector: {} }, namespace, labels),
      ),
    );
  });
});
