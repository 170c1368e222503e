import { Migration } from '@mikro-orm/migrations';

export class Migration20261122035318_engine extends Migration {

  override name = 'Migration20261122035318_engine';

  override up(): void | Promise<void> {
    this.addSql(`create table "chain" ("id" uuid not null, "slug" varchar(100) not null, "name" varchar(200) not null, "description" text not null default '', "draft_graph" jsonb not null, "draft_revision" int not null default 1, "active_version_id" uuid null, "web_chat_enabled" boolean not null default false, "owner_id" uuid null, "created_at" timestamptz not null, "updated_at" timestamptz not null, primary key ("id"));`);
    this.addSql(`alter table "chain" add constraint "chain_slug_unique" unique ("slug");`);

    this.addSql(`create table "chain_version" ("id" uuid not null, "chain_id" uuid not null, "kind" text not null, "number" int null, "graph" jsonb not null, "ir" jsonb not null, "hash" varchar(64) not null, "note" text not null default '', "created_at" timestamptz not null, "created_by" uuid null, primary key ("id"));`);
    this.addSql(`create index "chain_version_chain_id_index" on "chain_version" ("chain_id");`);
    this.addSql(`alter table "chain_version" add constraint "chain_version_chain_id_number_unique" unique ("chain_id", "number");`);
    this.addSql(`alter table "chain_version" add constraint "chain_version_chain_id_kind_hash_unique" unique ("chain_id", "kind", "hash");`);
    this.addSql(`alter table "chain_version" add constraint "chain_version_kind_check" check ("kind" in ('published', 'draft'));`);

    this.addSql(`create table "run" ("id" varchar(300) not null, "chain_id" uuid not null, "version_id" uuid not null, "version_number" int null, "channel" varchar(40) not null, "bot_id" uuid null, "status" varchar(30) not null default 'running', "current_node" varchar(200) null, "started_at" timestamptz not null, "updated_at" timestamptz not null, "closed_at" timestamptz null, primary key ("id"));`);
    this.addSql(`create index "run_chain_id_started_at_index" on "run" ("chain_id", "started_at");`);
    this.addSql(`create index "run_status_index" on "run" ("status");`);

    this.addSql(`create table "run_event" ("id" bigserial primary key, "run_id" varchar(300) not null, "execution_id" varchar(64) not null default '', "seq" int not null, "type" varchar(40) not null, "node_id" varchar(200) null, "payload" jsonb not null, "at" timestamptz not null);`);
    this.addSql(`create index "run_event_run_id_id_index" on "run_event" ("run_id", "id");`);
    this.addSql(`alter table "run_event" add constraint "run_event_run_id_execution_id_seq_unique" unique ("run_id", "execution_id", "seq");`);

    this.addSql(`create table "variable" ("id" uuid not null, "scope" text not null, "owner_key" varchar(300) not null, "name" varchar(200) not null, "value" jsonb null, "updated_at" timestamptz not null, primary key ("id"));`);
    this.addSql(`alter table "variable" add constraint "variable_scope_owner_key_name_unique" unique ("scope", "owner_key", "name");`);
    this.addSql(`alter table "variable" add constraint "variable_scope_check" check ("scope" in ('user', 'chat', 'bot'));`);
  }

}
