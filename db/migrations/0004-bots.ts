import { Migration } from '@mikro-orm/migrations';

export class Migration20261122050742_bots extends Migration {

  override name = 'Migration20261122050742_bots';

  override up(): void | Promise<void> {
    this.addSql(`create table "bot" ("id" uuid not null, "name" varchar(200) not null, "kind" text not null, "encrypted_secret" text not null, "telegram_id" varchar(32) null, "chain_id" uuid null, "enabled" boolean not null default true, "owner_id" uuid null, "created_at" timestamptz not null, "updated_at" timestamptz not null, primary key ("id"));`);
    this.addSql(`alter table "bot" add constraint "bot_telegram_id_unique" unique ("telegram_id");`);
    this.addSql(`create index "bot_owner_id_index" on "bot" ("owner_id");`);
    this.addSql(`create index "bot_chain_id_index" on "bot" ("chain_id");`);

    this.addSql(`alter table "bot" add constraint "bot_kind_check" check ("kind" in ('telegram_bot', 'telegram_user'));`);
  }

  override down(): void | Promise<void> {
    this.addSql(`drop table if exists "bot" cascade;`);
  }

}
