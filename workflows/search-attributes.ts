import { defineSearchAttributeKey } from '@temporalio/common';

/** Search attributes of every dialogue workflow (DESIGN.md › Temporal). */
export const ChainIdKey = defineSearchAttributeKey('ChainId', 'KEYWORD');
export const ChainVersionKey = defineSearchAttributeKey('ChainVersion', 'INT');
export const BotIdKey = defineSearchAttributeKey('BotId', 'KEYWORD');
export const ChannelKey = defineSearchAttributeKey('Channel', 'KEYWORD');
export const CurrentNodeKey = defineSearchAttributeKey('CurrentNode', 'KEYWORD');

/** Name → CLI type, as `temporal server start-dev --search-attribute` takes them. */
export const searchAttributeTypes = {
  ChainId: 'Keyword',
  ChainVersion: 'Int',
  BotId: 'Keyword',
  Channel: 'Keyword',
  CurrentNode: 'Keyword',
} as const;
