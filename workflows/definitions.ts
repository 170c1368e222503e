import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { ApprovalDecision, InboundMessage, SendResult, SessionView, UpgradeRequest } from './types.ts';

/** Inbound message from a channel (Telegram gateway, API). Deduplicated by `id`. */
export const messageSignal = defineSignal<[InboundMessage]>('message');
/** Ends the session at once, with an optional reason. */
export const stopSignal = defineSignal<[string?]>('stop');
/** Message in, the replies produced until the next wait out (web chat, simulator). */
export const sendUpdate = defineUpdate<SendResult, [InboundMessage]>('send');
/**
 * Moves the session to another version of its chain at its next wait point (a session
 * already waiting moves at once): its node ids are mapped through `nodeMap` (unmapped
 * ids are kept). Refused, with an `upgrade.rejected` run event, when a mapped node is
 * missing from the new version or is of another type.
 */
export const upgradeSignal = defineSignal<[UpgradeRequest]>('upgrade');
/** Current node, call stack, variables (never secrets), transcript tail. */
export const stateQuery = defineQuery<SessionView>('state');
/** An operator's decision on an agent tool call that needs approval (POST /api/v1/runs/{id}/approvals). */
export const approvalSignal = defineSignal<[ApprovalDecision]>('approval');
