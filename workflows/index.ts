// Every workflow type the Chainflow worker registers. Deterministic code only.
export {};
