/** Structured logs (pino): JSON lines to stdout, or nothing (tests) with `level: 'silent'`. */
import { pino, type Logger } from 'pino';

export type { Logger };

export function createLogger(options: { level?: string; name?: string } = {}): Logger {
  return pino({ name: options.name ?? 'anvil-forge', level: options.level ?? process.env['ANVIL_LOG_LEVEL'] ?? 'info' });
}
