import { describe, expect, it } from '@jest/globals';
import { FAILPOINT_ENABLE_PHRASE, FAILPOINTS, Failpoints } from '../../../src/util/failpoints.ts';

const enable = { DBCRED_ENABLE_FAILPOINTS: FAILPOINT_ENABLE_PHRASE };

describe('failpoints', () => {
  it('are all off in a normal environment', () => {
    expect(new Failpoints({}).active()).toEqual([]);
  });

  it('stay off when only DBCRED_FAILPOINT is set (a stray variable cannot crash the operator)', () => {
    expect(new Failpoints({ DBCRED_FAILPOINT: 'after-user-created' }).active()).toEqual([]);
  });

  it('stay off when only the enable phrase is set', () => {
    expect(new Failpoints(enable).active()).toEqual([]);
  });

  it.each(['true', '1', 'yes', ` ${FAILPOINT_ENABLE_PHRASE}`, FAILPOINT_ENABLE_PHRASE.toUpperCase(), `${FAILPOINT_ENABLE_PHRASE}!`])(
    'stay off when the enable variable is %j instead of the exact phrase',
    (value) => {
      expect(new Failpoints({ DBCRED_FAILPOINT: 'after-user-created', DBCRED_ENABLE_FAILPOINTS: value }).active()).toEqual([]);
    },
  );

  it('arm the named failpoint when both variables are set', () => {
    expect(new Failpoints({ ...enable, DBCRED_FAILPOINT: 'after-secret-written' }).active()).toEqual(['after-secret-written']);
  });

  it('arm several comma-separated failpoints, ignoring spaces and empty entries', () => {
    const fp = new Failpoints({ ...enable, DBCRED_FAILPOINT: ' after-intent-recorded , ,before-finalizer-removed,' });
    expect(fp.active().sort()).toEqual(['after-intent-recorded', 'before-finalizer-removed']);
  });

  it('accept every documented failpoint name', () => {
    expect(new Failpoints({ ...enable, DBCRED_FAILPOINT: FAILPOINTS.join(',') }).active().sort()).toEqual([...FAILPOINTS].sort());
  });

  it('refuse an unknown name, listing the known ones', () => {
    const make = () => new Failpoints({ ...enable, DBCRED_FAILPOINT: 'after-user-created,after-lunch' });
    expect(make).toThrow('unknown failpoint "after-lunch"');
    expect(make).toThrow(`(known: ${FAILPOINTS.join(', ')})`);
  });

  it('refuse an unknown name even when failpoints are not enabled (a typo is never silent)', () => {
    expect(() => new Failpoints({ DBCRED_FAILPOINT: 'after-user-craeted' })).toThrow('unknown failpoint "after-user-craeted"');
  });

  it('crash by default or freeze the process with the pause action, and refuse any other action', () => {
    const armed = { ...enable, DBCRED_FAILPOINT: 'after-user-created' };
    expect(new Failpoints({ ...armed, DBCRED_FAILPOINT_ACTION: 'pause' }).active()).toEqual(['after-user-created']);
    expect(() => new Failpoints({ ...armed, DBCRED_FAILPOINT_ACTION: 'nap' })).toThrow(
      'unknown failpoint action "nap" (known: crash, pause)',
    );
  });

  it('read process.env by default', () => {
    const saved = { fp: process.env['DBCRED_FAILPOINT'], en: process.env['DBCRED_ENABLE_FAILPOINTS'] };
    try {
      delete process.env['DBCRED_FAILPOINT'];
      delete process.env['DBCRED_ENABLE_FAILPOINTS'];
      expect(new Failpoints().active()).toEqual([]);
    } finally {
      if (saved.fp !== undefined) process.env['DBCRED_FAILPOINT'] = saved.fp;
      if (saved.en !== undefined) process.env['DBCRED_ENABLE_FAILPOINTS'] = saved.en;
    }
  });

  it('do nothing when an unarmed failpoint is hit', () => {
    const armedElsewhere = new Failpoints({ ...enable, DBCRED_FAILPOINT: 'before-finalizer-removed' });
    const off = new Failpoints({ DBCRED_FAILPOINT: 'after-user-created' });
    for (const name of FAILPOINTS.filter((n) => n !== 'before-finalizer-removed')) armedElsewhere.hit(name);
    for (const name of FAILPOINTS) off.hit(name);
    // Still running: signal 0 only checks that the process exists.
    expect(process.kill(process.pid, 0)).toBe(true);
  });
});
