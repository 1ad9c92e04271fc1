// When a cron schedule next fires after a given time (UTC), for static credential rotation.
// node-cron parses and matches the expression; the search is ours so it follows the injected clock.
import cron from 'node-cron';

const MINUTE = 60_000;
/** Search a little over a year ahead: "0 0 29 2 *" still fires within four years, but such schedules are refused below. */
const HORIZON_MINUTES = 366 * 24 * 60;

/** isValidSchedule tells whether node-cron accepts the expression. */
export function isValidSchedule(expression: string): boolean {
  return cron.validate(expression);
}

/** nextRunAfter returns the first minute strictly after `after` that the schedule matches, or undefined within a year. */
export function nextRunAfter(expression: string, after: number): number | undefined {
  const task = cron.createTask(expression, () => undefined, { timezone: 'Etc/UTC' });
  try {
    let t = Math.floor(after / MINUTE) * MINUTE + MINUTE;
    for (let i = 0; i < HORIZON_MINUTES; i++, t += MINUTE) if (task.match(new Date(t))) return t;
    return undefined;
  } finally {
    void task.destroy();
  }
}
