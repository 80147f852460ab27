/**
 * A function's Powertools logger, its level taken from the function's configuration. Powertools
 * reads `POWERTOOLS_LOG_LEVEL` from the process environment when no level is given; the level is passed
 * explicitly instead, so each local platform keeps its own. Lambda's advanced logging controls
 * (`AWS_LAMBDA_LOG_LEVEL`) still take precedence in AWS, as Powertools documents.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import type { LogLevel } from '@aws-lambda-powertools/logger/types';
import { type Environment, optionalEnv } from '../core/env.ts';

/** The variable Powertools reads its level from, and its legacy alias. */
export const LOG_LEVEL_ENV = 'POWERTOOLS_LOG_LEVEL';
const LEGACY_LOG_LEVEL_ENV = 'LOG_LEVEL';

const LEVELS: ReadonlySet<string> = new Set([
  'TRACE',
  'DEBUG',
  'INFO',
  'WARN',
  'ERROR',
  'CRITICAL',
  'SILENT',
]);

/** The configured level, or undefined (Powertools' default, INFO) when unset or not a level. */
export function logLevelFromEnv(env: Environment): LogLevel | undefined {
  const value = (optionalEnv(LOG_LEVEL_ENV, env) ?? optionalEnv(LEGACY_LOG_LEVEL_ENV, env))?.toUpperCase();
  return value !== undefined && LEVELS.has(value) ? (value as LogLevel) : undefined;
}

export function loggerFromEnv(serviceName: string, env: Environment): Logger {
  const logLevel = logLevelFromEnv(env) ?? 'INFO';
  return new Logger({ serviceName, logLevel });
}
