import { Migration } from '@mikro-orm/migrations';

/** Telegram user accounts (issue 13): the access hash of each peer an account has seen, so replies reach it after a restart. */
export class Migration20261202060000_account_peers extends Migration {

  override name = 'Migration20261202060000_account_peers';

  override up(): void | Promise<void> {
    this.addSql(`create table "telegram_account_peer" ("bot_id" uuid not null, "peer_id" varchar(32) not null, "access_hash" varchar(24) not null, "updated_at" timestamptz not null, primary key ("bot_id", "peer_id"));`);
    this.addSql(`alter table "telegram_account_peer" add constraint "telegram_account_peer_bot_id_foreign" foreign key ("bot_id") references "bot" ("id") on delete cascade;`);
  }

  override down(): void | Promise<void> {
    this.addSql(`drop table if exists "telegram_account_peer" cascade;`);
  }

}
