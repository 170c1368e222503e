import { Migration } from '@mikro-orm/migrations';

export class Migration20261201190000_telegram extends Migration {

  override name = 'Migration20261201190000_telegram';

  override up(): void | Promise<void> {
    this.addSql(`alter table "bot" add column "mode" text not null default 'polling', add column "api_root" varchar(500) not null default 'https://api.telegram.org', add column "encrypted_webhook_secret" text null, add column "status" text not null default 'stopped', add column "last_error" text null;`);
    this.addSql(`alter table "bot" add constraint "bot_mode_check" check ("mode" in ('polling', 'webhook'));`);
    this.addSql(`alter table "bot" add constraint "bot_status_check" check ("status" in ('stopped', 'running', 'error'));`);

    this.addSql(`create table "telegram_chat" ("bot_id" uuid not null, "chat_id" varchar(32) not null, "blocked_at" timestamptz null, "reply_keyboard" boolean not null default false, "updated_at" timestamptz not null, primary key ("bot_id", "chat_id"));`);

    this.addSql(`create table "telegram_send" ("run_id" varchar(300) not null, "message_id" varchar(100) not null, "bot_id" uuid not null, "telegram_message_ids" jsonb not null, "sent_at" timestamptz not null, primary key ("run_id", "message_id"));`);
    this.addSql(`create index "telegram_send_sent_at_index" on "telegram_send" ("sent_at");`);
  }

  override down(): void | Promise<void> {
    this.addSql(`drop table if exists "telegram_send" cascade;`);
    this.addSql(`drop table if exists "telegram_chat" cascade;`);
    this.addSql(`alter table "bot" drop constraint if exists "bot_mode_check";`);
    this.addSql(`alter table "bot" drop constraint if exists "bot_status_check";`);
    this.addSql(`alter table "bot" drop column "mode", drop column "api_root", drop column "encrypted_webhook_secret", drop column "status", drop column "last_error";`);
  }

}
