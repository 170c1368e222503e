/** The PostgreSQL NOTIFY channel that announces flushed run events (payload: {runId, chainId}). */
export const RUN_EVENTS_CHANNEL = 'chainflow_run_events';
