import { describe, expect, it } from 'vitest';
import { isActivityOnlyTaskQueue, isExpectedSdkWarning } from './runtime.ts';

describe('the SDK warning of activity-only workers', () => {
  it('drops "No workflows registered" for account:{botId} workers only', () => {
    expect(isActivityOnlyTaskQueue('account:8f7e6d5c')).toBe(true);
    expect(isExpectedSdkWarning('No workflows registered, not polling for workflow tasks', { sdkComponent: 'worker', taskQueue: 'account:8f7e6d5c' })).toBe(true);
    expect(isExpectedSdkWarning('No workflows registered, not polling for workflow tasks', { sdkComponent: 'worker', taskQueue: 'chainflow' })).toBe(false);
    expect(isExpectedSdkWarning('No workflows registered, not polling for workflow tasks')).toBe(false);
    expect(isExpectedSdkWarning('Activity failed', { taskQueue: 'account:8f7e6d5c' })).toBe(false);
  });
});
