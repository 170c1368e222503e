import { defineEntity, p, type InferEntity } from '@mikro-orm/core';

/**
 * The text so far of a reply a model is streaming (the agent node's answer), for the web
 * chat and the simulator: the agentModel activity upserts it while tokens arrive (at most
 * every few hundred ms), NOTIFYs `chainflow_reply_partials` with ids only, and deletes the
 * row when the call ends. The API's events hub reads the row and pushes it to the run's
 * live subscribers as `reply.partial`. `(runId, replyId)` is the workflow id and the
 * reply's id (stable under retries of the activity).
 */
export const ReplyPartialSchema = defineEntity({
  name: 'ReplyPartial',
  tableName: 'reply_partial',
  indexes: [{ properties: ['updatedAt'] }],
  properties: {
    runId: p.string().length(300).primary(),
    replyId: p.string().length(200).primary(),
    chainId: p.uuid(),
    nodeId: p.string().length(200),
    text: p.text(),
    /** Grows with every write: a subscriber shows a partial only if it is newer than the last one it showed. */
    seq: p.integer(),
    updatedAt: p.datetime(),
  },
});
export type ReplyPartial = InferEntity<typeof ReplyPartialSchema>;
