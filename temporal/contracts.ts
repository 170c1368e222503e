// The dialogue workflow's contract for callers outside the worker (API, CLI): its
// signals, Update, query and types. Pinned names: see DESIGN.md › Contracts.
export { approvalSignal, messageSignal, sendUpdate, stateQuery, stopSignal, upgradeSignal } from '../workflows/definitions.ts';
export { BotIdKey, ChainIdKey, ChainVersionKey, ChannelKey, CurrentNodeKey } from '../workflows/search-attributes.ts';
export type { dialogue } from '../workflows/dialogue.ts';
export type { codeTrial } from '../workflows/code-trial.ts';
export type {
  Channel,
  DialogueInput,
  DialogueResult,
  InboundMessage,
  OutboundMessage,
  SendResult,
  SessionView,
  UpgradeRequest,
} from '../workflows/types.ts';
