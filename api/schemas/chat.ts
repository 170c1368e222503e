import { z } from 'zod';
import { dateTime, storable } from './common.ts';

export const visitorIdSchema = z
  .string()
  .regex(/^[A-Za-z0-9_-]{1,64}$/, "Use 1–64 of letters, digits, '_' and '-' (e.g. a random id kept in the browser)")
  .meta({ description: 'Your visitor id (kept in the browser); one session per chain and visitor' });

export const chatParamsSchema = z.strictObject({
  chainIdOrSlug: storable(z.string().min(1).max(100)).meta({ description: 'Chain id (UUID) or slug' }),
  visitorId: visitorIdSchema.refine((v) => !v.startsWith('sim-'), "Visitor ids starting with 'sim-' are reserved for the editor's simulator; use another id"),
});

export const simulateParamsSchema = z.strictObject({
  id: storable(z.string().min(1).max(100)).meta({ description: 'Chain id (UUID) or slug' }),
  visitorId: visitorIdSchema,
});

export const chatMessageSchema = z
  .strictObject({
    id: storable(z.string().min(1).max(200)).optional().describe('Client message id; a repeated id is processed once'),
    text: storable(z.string().max(4096)).optional(),
    buttonId: storable(z.string().min(1).max(64)).optional(),
    value: storable(z.string().max(200)).optional(),
    language: z.string().regex(/^[a-z]{2,3}(-[A-Za-z]{2,4})?$/, "A language code like 'en' or 'ru'").optional(),
    firstName: storable(z.string().max(100)).optional(),
  })
  .refine((m) => m.text !== undefined || m.buttonId !== undefined, { message: 'Send text or a buttonId', path: ['text'] })
  .meta({ id: 'ChatMessage' });

export const chatEventsQuerySchema = z.strictObject({
  after: z.coerce.number().int().min(0).default(0).meta({ description: 'Only events after this id' }),
  limit: z.coerce.number().int().min(1).max(500).default(100),
});

const outboundButtonSchema = z.object({ id: z.string(), text: z.string(), url: z.string().optional(), value: z.string().optional() });

export const outboundMessageSchema = z
  .object({
    id: z.string(),
    nodeId: z.string(),
    text: z.string(),
    format: z.enum(['plain', 'markdown', 'html']),
    media: z.array(z.object({ kind: z.string(), url: z.string(), caption: z.string().optional() })).optional(),
    buttons: z.object({ kind: z.enum(['inline', 'reply']), rows: z.array(z.array(outboundButtonSchema)), oneTime: z.boolean().optional() }).optional(),
    disablePreview: z.boolean().optional(),
    replyTo: z.string().optional(),
  })
  .meta({ id: 'OutboundMessage' });

export const chatReplySchema = z
  .object({
    runId: z.string().meta({ description: 'The session’s workflow id: web:{chainId}:{visitorId}' }),
    chainId: z.uuid(),
    versionId: z.uuid().meta({ description: 'The chain version the session runs' }),
    messageId: z.string(),
    replies: z.array(outboundMessageSchema).meta({ description: 'The bot’s replies until its next wait' }),
    duplicate: z.boolean().meta({ description: 'The message id was seen before; nothing was processed' }),
    queued: z.boolean().meta({ description: 'The session is in a timed wait; the message is answered later (read the transcript)' }),
    ended: z.boolean(),
    waitingAt: z.string().nullable(),
    restarted: z.boolean().optional().meta({ description: 'Simulator: the session was restarted on the current draft' }),
    visitorToken: z
      .string()
      .optional()
      .meta({ description: 'Only in the answer to the first message of a new visitor: its token (also set as an HttpOnly cookie). Send it as X-Visitor-Token with every later request for this visitor id; it is not shown again.' }),
  })
  .meta({ id: 'ChatReply' });

export const transcriptSchema = z
  .object({
    items: z.array(
      z.object({
        id: z.number().int(),
        direction: z.enum(['in', 'out']),
        message: z.record(z.string(), z.unknown()),
        at: dateTime,
      }),
    ),
    total: z.number().int(),
  })
  .meta({ id: 'Transcript' });
