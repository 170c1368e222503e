// Every workflow type the Chainflow worker registers. Deterministic code only.
export { dialogue } from './dialogue.ts';
export { messageSignal, sendUpdate, stateQuery, stopSignal, upgradeSignal } from './definitions.ts';
export { retentionCleanup } from './cleanup.ts';
export { ingestKnowledgeDocument } from './knowledge.ts';
export { codeTrial } from './code-trial.ts';
