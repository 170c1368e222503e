import { defineEntity, p, type InferEntity } from '@mikro-orm/core';

/**
 * A web-chat visitor of one chain. The client picks the visitor id (it is in the URL);
 * the server issues the token on the visitor's first message and keeps only its SHA-256.
 * Every later request for that visitor id must present the token. The visitor's
 * persisted `user.*` and `chat.*` are keyed by the row's id (`visitor:{id}`), which no
 * client chooses or sees.
 */
export const WebVisitorSchema = defineEntity({
  name: 'WebVisitor',
  tableName: 'web_visitor',
  uniques: [{ properties: ['chainId', 'visitorId'] }],
  properties: {
    id: p.uuid().primary(),
    chainId: p.uuid(),
    /** The id in the URL, chosen by the client. */
    visitorId: p.string().length(100),
    /** SHA-256 of the token; null while unclaimed (a web session an editor started through the API): the next first message claims it. */
    tokenHash: p.string().length(64).nullable(),
    createdAt: p.datetime().onCreate(() => new Date()),
  },
});
export type WebVisitor = InferEntity<typeof WebVisitorSchema>;

/** The persisted-variable owner key of a web visitor. */
export const visitorOwnerKey = (visitor: Pick<WebVisitor, 'id'>): string => `visitor:${visitor.id}`;
