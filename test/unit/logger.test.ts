import { describe, expect, it } from '@jest/globals';
import { createLogger } from '../../src/observability/logger.ts';

/** logged returns the JSON lines a logger wrote while fn ran. */
function logged(fn: (log: ReturnType<typeof createLogger>) => void): Record<string, unknown>[] {
  const lines: string[] = [];
  const log = createLogger({ level: 'debug', destination: { write: (line: string) => void lines.push(line) } });
  fn(log);
  return lines.map((l) => JSON.parse(l) as Record<string, unknown>);
}

describe('the operator log', () => {
  it('names the level as a word that log pipelines filter on', () => {
    const [info, warn, error] = logged((log) => {
      log.info('a');
      log.warn('b');
      log.error('c');
    });
    expect([info?.['level'], warn?.['level'], error?.['level']]).toEqual(['info', 'warn', 'error']);
    expect(info?.['name']).toBe('dbcred');
    expect(typeof info?.['time']).toBe('string');
  });

  it('never writes a password field, at the top level or one level down', () => {
    const [line] = logged((log) => log.info({ password: 'hunter2', user: { password: 'hunter3' } }, 'x'));
    expect(JSON.stringify(line)).not.toMatch(/hunter[23]/);
    expect(line?.['password']).toBe('[REDACTED]');
  });
});
