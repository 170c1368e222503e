import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { InboundMessage, SendResult, SessionView } from './types.ts';

/** Inbound message from a channel (Telegram gateway, API). Deduplicated by `id`. */
export const messageSignal = defineSignal<[InboundMessage]>('message');
/** Ends the session at once, with an optional reason. */
export const stopSignal = defineSignal<[string?]>('stop');
/** Message in, the replies produced until the next wait out (web chat, simulator). */
export const sendUpdate = defineUpdate<SendResult, [InboundMessage]>('send');
/** Current node, call stack, variables (never secrets), transcript tail. */
export const stateQuery = defineQuery<SessionView>('state');
