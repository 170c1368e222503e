import { Migration } from '@mikro-orm/migrations';

export class Migration20261201230000_bot_commands extends Migration {

  override name = 'Migration20261201230000_bot_commands';

  override up(): void | Promise<void> {
    this.addSql(`create table "bot_command" ("bot_id" uuid not null, "command" varchar(32) not null, "chain_id" uuid not null, "description" varchar(256) not null, "descriptions" jsonb not null default '{}', "created_at" timestamptz not null, "updated_at" timestamptz not null, primary key ("bot_id", "command"));`);
    this.addSql(`alter table "bot_command" add constraint "bot_command_bot_id_foreign" foreign key ("bot_id") references "bot" ("id") on delete cascade;`);
    this.addSql(`create index "bot_command_chain_id_index" on "bot_command" ("chain_id");`);
  }

  override down(): void | Promise<void> {
    this.addSql(`drop table if exists "bot_command" cascade;`);
  }

}
