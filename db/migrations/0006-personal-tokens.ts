import { Migration } from '@mikro-orm/migrations';

export class Migration20261201200000_personal_tokens extends Migration {

  override name = 'Migration20261201200000_personal_tokens';

  override up(): void | Promise<void> {
    this.addSql(`create table "personal_token" ("id" uuid not null, "user_id" uuid not null, "name" varchar(100) not null, "token_hash" varchar(64) not null, "prefix" varchar(16) not null, "scopes" jsonb not null, "created_at" timestamptz not null, "expires_at" timestamptz null, "last_used_at" timestamptz null, "revoked_at" timestamptz null, primary key ("id"));`);
    this.addSql(`create index "personal_token_user_id_index" on "personal_token" ("user_id");`);
    this.addSql(`alter table "personal_token" add constraint "personal_token_token_hash_unique" unique ("token_hash");`);
  }

  override down(): void | Promise<void> {
    this.addSql(`drop table if exists "personal_token" cascade;`);
  }

}
