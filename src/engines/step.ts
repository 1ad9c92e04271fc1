// Labelled steps: an engine runs several statements per operation; a failure is tagged with the
// step's label (never the statement text) so the error can say which one failed.
import { isDbcredError } from '../util/errors.ts';

/** A failure of one labelled step; the driver error is kept only until it is mapped and redacted. */
export class StepFailure extends Error {
  readonly label: string;
  readonly error: unknown;

  constructor(label: string, error: unknown) {
    super(label);
    this.name = 'StepFailure';
    this.label = label;
    this.error = error;
  }
}

/** step awaits work and rethrows a driver failure as a StepFailure labelled `label` (DbcredErrors pass through). */
export async function step<T>(label: string, work: Promise<T>): Promise<T> {
  try {
    return await work;
  } catch (error) {
    throw error instanceof StepFailure || isDbcredError(error) ? error : new StepFailure(label, error);
  }
}

/** driverCause returns the driver error inside a StepFailure, or the value itself. */
export function driverCause(error: unknown): unknown {
  return error instanceof StepFailure ? error.error : error;
}
