import { Migration } from '@mikro-orm/migrations';

/**
 * Plugins (issue 16): each plugin's switch, approved permissions, settings (secret ones
 * encrypted) and last errors, shared by every API and worker process; and each plugin's
 * small key-value store (`ctx.kv`).
 */
export class Migration20261202020000_plugins extends Migration {

  override name = 'Migration20261202020000_plugins';

  override up(): void | Promise<void> {
    this.addSql(`create table "plugin" ("id" varchar(63) not null, "enabled" boolean not null default false, "approved_permissions" jsonb null, "approved_version" varchar(100) null, "approved_by" uuid null, "approved_at" timestamptz null, "settings" jsonb not null default '{}', "secret_settings" text null, "last_errors" jsonb not null default '[]', "created_at" timestamptz not null, "updated_at" timestamptz not null, primary key ("id"));`);
    this.addSql(`create table "plugin_kv" ("plugin_id" varchar(63) not null, "key" varchar(200) not null, "value" jsonb not null, "expires_at" timestamptz null, "updated_at" timestamptz not null, primary key ("plugin_id", "key"));`);
    this.addSql(`create index "plugin_kv_expires_at_index" on "plugin_kv" ("expires_at");`);
  }

  override down(): void | Promise<void> {
    this.addSql(`drop table if exists "plugin_kv" cascade;`);
    this.addSql(`drop table if exists "plugin" cascade;`);
  }

}
