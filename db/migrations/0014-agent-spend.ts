import { Migration } from '@mikro-orm/migrations';

/** Agent (issue 17): tokens spent per chain and UTC day / month, for the per-chain spend cap (db/agent-spend.ts). */
export class Migration20261202010000_agent_spend extends Migration {

  override name = 'Migration20261202010000_agent_spend';

  override up(): void | Promise<void> {
    this.addSql(`create table "agent_spend" ("chain_id" varchar(100) not null, "period" varchar(12) not null, "tokens" bigint not null default 0, "updated_at" timestamptz not null, primary key ("chain_id", "period"));`);
  }

  override down(): void | Promise<void> {
    this.addSql(`drop table if exists "agent_spend" cascade;`);
  }

}
