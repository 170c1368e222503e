/** The PostgreSQL NOTIFY channel that announces flushed run events (payload: {runId, chainId}). */
export const RUN_EVENTS_CHANNEL = 'chainflow_run_events';

/** The PostgreSQL NOTIFY channel that announces a changed bot (payload: its id); API processes reconcile their gateways. */
export const BOTS_CHANNEL = 'chainflow_bots';
