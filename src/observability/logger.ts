// Structured JSON logs (pino). Redaction by path is a second line of defence: the code never puts
// a password in a log call on purpose, and these paths blank one out if an object carrying it is
// logged by mistake (a Secret, a connection config, a request).
import { pino, type Logger as PinoLogger, type DestinationStream } from 'pino';

export type Logger = PinoLogger;

/** Paths whose values are replaced by "[REDACTED]" in every log line. */
export const REDACTED_PATHS = [
  'password',
  '*.password',
  '*.*.password',
  'newPassword',
  '*.newPassword',
  'verifier',
  '*.verifier',
  'token',
  '*.token',
  'authorization',
  '*.authorization',
  'headers.authorization',
  '*.headers.authorization',
  'stringData',
  '*.stringData',
  'data',
  '*.data',
  'connectionString',
  '*.connectionString',
  'uri',
  '*.uri',
];

export interface LoggerOptions {
  level?: string;
  name?: string;
  destination?: DestinationStream;
}

/** createLogger returns the JSON logger with redaction, ISO timestamps and error serialisation. */
export function createLogger(options: LoggerOptions = {}): Logger {
  return pino(
    {
      name: options.name ?? 'dbcred',
      level: options.level ?? 'info',
      redact: { paths: REDACTED_PATHS, censor: '[REDACTED]' },
      timestamp: pino.stdTimeFunctions.isoTime,
      // "level":"info" rather than pino's 30: what log pipelines and people filter on.
      formatters: { level: (label) => ({ level: label }) },
      serializers: { err: pino.stdSerializers.err },
    },
    options.destination,
  );
}

/** silentLogger discards everything (unit tests). */
export const silentLogger: Logger = pino({ level: 'silent' });
