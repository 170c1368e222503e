import { Migration } from '@mikro-orm/migrations';

export class Migration20261122042513_accounts extends Migration {

  override name = 'Migration20261122042513_accounts';

  override up(): void | Promise<void> {
    this.addSql(`create table "audit_entry" ("id" bigserial primary key, "at" timestamptz not null, "actor_id" uuid null, "actor_email" varchar(254) null, "action" varchar(60) not null, "target_type" varchar(30) null, "target_id" varchar(300) null, "summary" jsonb not null, "ip" varchar(64) null);`);
    this.addSql(`create index "audit_entry_at_index" on "audit_entry" ("at");`);
    this.addSql(`create index "audit_entry_actor_id_at_index" on "audit_entry" ("actor_id", "at");`);
    this.addSql(`create index "audit_entry_target_type_target_id_index" on "audit_entry" ("target_type", "target_id");`);
    this.addSql(`create index "audit_entry_action_index" on "audit_entry" ("action");`);

    this.addSql(`create table "access_grant" ("id" uuid not null, "user_id" uuid not null, "resource_type" text not null, "resource_id" uuid not null, "role" text not null, "created_by" uuid null, "created_at" timestamptz not null, primary key ("id"));`);
    this.addSql(`create index "access_grant_resource_type_resource_id_index" on "access_grant" ("resource_type", "resource_id");`);
    this.addSql(`alter table "access_grant" add constraint "access_grant_user_id_resource_type_resource_id_unique" unique ("user_id", "resource_type", "resource_id");`);

    this.addSql(`create table "invite" ("id" uuid not null, "code_hash" varchar(64) not null, "role" text not null, "email" varchar(254) null, "created_by" uuid null, "created_at" timestamptz not null, "expires_at" timestamptz not null, "used_at" timestamptz null, "used_by" uuid null, primary key ("id"));`);
    this.addSql(`alter table "invite" add constraint "invite_code_hash_unique" unique ("code_hash");`);

    this.addSql(`create table "refresh_token" ("id" uuid not null, "user_id" uuid not null, "family_id" uuid not null, "token_hash" varchar(64) not null, "created_at" timestamptz not null, "expires_at" timestamptz not null, "used_at" timestamptz null, "revoked_at" timestamptz null, "ip" varchar(64) null, primary key ("id"));`);
    this.addSql(`create index "refresh_token_user_id_index" on "refresh_token" ("user_id");`);
    this.addSql(`create index "refresh_token_family_id_index" on "refresh_token" ("family_id");`);
    this.addSql(`alter table "refresh_token" add constraint "refresh_token_token_hash_unique" unique ("token_hash");`);

    this.addSql(`create table "app_user" ("id" uuid not null, "email" varchar(254) not null, "name" varchar(200) not null default '', "password_hash" text not null, "role" text not null, "status" text not null default 'active', "token_version" int not null default 0, "failed_logins" int not null default 0, "locked_until" timestamptz null, "totp_secret" text null, "totp_enabled" boolean not null default false, "totp_last_step" bigint null, "last_login_at" timestamptz null, "created_at" timestamptz not null, "updated_at" timestamptz not null, primary key ("id"));`);
    this.addSql(`alter table "app_user" add constraint "app_user_email_unique" unique ("email");`);

    this.addSql(`alter table "access_grant" add constraint "access_grant_resource_type_check" check ("resource_type" in ('chain', 'bot'));`);
    this.addSql(`alter table "access_grant" add constraint "access_grant_role_check" check ("role" in ('owner', 'editor', 'viewer'));`);

    this.addSql(`alter table "invite" add constraint "invite_role_check" check ("role" in ('admin', 'editor', 'viewer'));`);

    this.addSql(`alter table "app_user" add constraint "app_user_role_check" check ("role" in ('admin', 'editor', 'viewer'));`);
    this.addSql(`alter table "app_user" add constraint "app_user_status_check" check ("status" in ('active', 'disabled'));`);
  }

  override down(): void | Promise<void> {
    this.addSql(`drop table if exists "audit_entry" cascade;`);
    this.addSql(`drop table if exists "access_grant" cascade;`);
    this.addSql(`drop table if exists "invite" cascade;`);
    this.addSql(`drop table if exists "refresh_token" cascade;`);
    this.addSql(`drop table if exists "app_user" cascade;`);
  }

}
