import { Runtime, type RuntimeOptions } from '@temporalio/worker';
import type { LogLevel, LogMetadata } from '@temporalio/common';
import type { Logger } from '../lib/logger.ts';

/**
 * The SDK's Prometheus exporter on `bindAddress` (`host:port`, served at `/metrics`):
 * worker, workflow-task and activity metrics from the SDK core, names prefixed
 * `temporal_`, counters with `_total`, durations in seconds.
 */
export function prometheusTelemetry(bindAddress: string): Partial<RuntimeOptions> {
  return { telemetryOptions: { metrics: { prometheus: { bindAddress, countersTotalSuffix: true, useSecondsForDurations: true } } } };
}

/** Task queues whose workers run activities only, by design: the Telegram account workers (`account:{botId}`). */
export const isActivityOnlyTaskQueue = (taskQueue: unknown): boolean => typeof taskQueue === 'string' && taskQueue.startsWith('account:');

/**
 * The SDK warns "No workflows registered, not polling for workflow tasks" for every worker
 * without workflows, and has no worker option to say that this is intended; for the
 * activity-only queues it is the design, so that one warning is dropped (any other is kept).
 */
export function isExpectedSdkWarning(message: string, meta?: LogMetadata): boolean {
  return message.startsWith('No workflows registered') && isActivityOnlyTaskQueue(meta?.taskQueue);
}

/** Routes the Temporal SDK's own logs (worker state, core) into our JSON logger. */
export function installTemporalRuntime(logger: Logger, extra: Partial<RuntimeOptions> = {}): void {
  const child = logger.child({ component: 'temporal-sdk' });
  const write = (level: LogLevel, message: string, meta?: LogMetadata) => {
    if (level === 'WARN' && isExpectedSdkWarning(message, meta)) return;
    const fn = level === 'TRACE' ? 'trace' : level === 'DEBUG' ? 'debug' : level === 'INFO' ? 'info' : level === 'WARN' ? 'warn' : 'error';
    child[fn](meta ?? {}, message);
  };
  Runtime.install({
    ...extra,
    logger: {
      log: write,
      trace: (m, meta) => write('TRACE', m, meta),
      debug: (m, meta) => write('DEBUG', m, meta),
      info: (m, meta) => write('INFO', m, meta),
      warn: (m, meta) => write('WARN', m, meta),
      error: (m, meta) => write('ERROR', m, meta),
    },
  });
}
