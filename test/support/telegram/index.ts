// Our own Telegram Bot API test server (see docs/telegram.md, "Trying a bot locally with the test server").
export { TelegramTestServer, type TestBot, type TranscriptEntry, type CallbackAnswer, type CallRecord, type TelegramTestServerOptions, type WaitOptions } from './server.ts';
export { TestUser, TestGroup, type TestUserOptions, type TestGroupOptions, type MediaOptions, type CallbackPress } from './users.ts';
export { type Fault, type FaultRule, type FaultHandle, type Quirks, QUIRKY } from './faults.ts';
export { type SendLimits, TELEGRAM_LIMITS } from './limits.ts';
export { parseHtml, parseMarkdownV2, parseMarkdown, parseFormatted, type FormattedText } from './formatting.ts';
export type * from './types.ts';
