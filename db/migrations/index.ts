import type { MigrationObject } from '@mikro-orm/core';
import { Migration20261122035318_engine } from './0001-engine.ts';
import { Migration20261122040825_credentials } from './0002-credentials.ts';
import { Migration20261122042513_accounts } from './0003-accounts.ts';
import { Migration20261122050742_bots } from './0004-bots.ts';
import { Migration20261201190000_access } from './0005-access.ts';
import { Migration20261201200000_personal_tokens } from './0006-personal-tokens.ts';
import { Migration20261201200000_retention } from './0007-retention.ts';
import { Migration20261201190000_telegram } from './0008-telegram.ts';
import { Migration20261201210000_rate_limits } from './0009-rate-limits.ts';
import { Migration20261201220000_http_attempts } from './0010-http-attempts.ts';
import { Migration20261201230000_bot_commands } from './0011-bot-commands.ts';
import { Migration20261201230000_telegram_accounts } from './0012-telegram-accounts.ts';
import { Migration20261201230000_knowledge } from './0013-knowledge.ts';
import { Migration20261202010000_agent_spend } from './0014-agent-spend.ts';
import { Migration20261202020000_plugins } from './0015-plugins.ts';
import { Migration20261202030000_reply_partials } from './0016-reply-partials.ts';
import { Migration20261202040000_knowledge_vector } from './0017-knowledge-vector.ts';
import { Migration20261202050000_account_groups } from './0018-account-groups.ts';
import { Migration20261202060000_account_peers } from './0019-account-peers.ts';

/**
 * Every migration, in order. Listed here rather than discovered on disk so the same list
 * works from sources, from a bundle and in tests. `chainflow migration:create <name>`
 * writes a new file from the entity diff; append it below.
 */
export const migrationsList: MigrationObject[] = [
  { name: 'Migration20261122035318_engine', class: Migration20261122035318_engine },
  { name: 'Migration20261122040825_credentials', class: Migration20261122040825_credentials },
  { name: 'Migration20261122042513_accounts', class: Migration20261122042513_accounts },
  { name: 'Migration20261122050742_bots', class: Migration20261122050742_bots },
  { name: 'Migration20261201190000_access', class: Migration20261201190000_access },
  { name: 'Migration20261201200000_personal_tokens', class: Migration20261201200000_personal_tokens },
  { name: 'Migration20261201200000_retention', class: Migration20261201200000_retention },
  { name: 'Migration20261201190000_telegram', class: Migration20261201190000_telegram },
  { name: 'Migration20261201210000_rate_limits', class: Migration20261201210000_rate_limits },
  { name: 'Migration20261201220000_http_attempts', class: Migration20261201220000_http_attempts },
  { name: 'Migration20261201230000_bot_commands', class: Migration20261201230000_bot_commands },
  { name: 'Migration20261201230000_telegram_accounts', class: Migration20261201230000_telegram_accounts },
  { name: 'Migration20261201230000_knowledge', class: Migration20261201230000_knowledge },
  { name: 'Migration20261202010000_agent_spend', class: Migration20261202010000_agent_spend },
  { name: 'Migration20261202020000_plugins', class: Migration20261202020000_plugins },
  { name: 'Migration20261202030000_reply_partials', class: Migration20261202030000_reply_partials },
  { name: 'Migration20261202040000_knowledge_vector', class: Migration20261202040000_knowledge_vector },
  { name: 'Migration20261202050000_account_groups', class: Migration20261202050000_account_groups },
  { name: 'Migration20261202060000_account_peers', class: Migration20261202060000_account_peers },
];
