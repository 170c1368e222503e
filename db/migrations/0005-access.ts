import { Migration } from '@mikro-orm/migrations';

/** Access (issue 10): the setup token, credential grants, web-chat visitors with tokens. */
export class Migration20261201190000_access extends Migration {

  override name = 'Migration20261201190000_access';

  override up(): void | Promise<void> {
    this.addSql(`create table "setup_token" ("id" uuid not null, "token_hash" varchar(64) not null, "created_at" timestamptz not null, primary key ("id"));`);
    this.addSql(`alter table "setup_token" add constraint "setup_token_token_hash_unique" unique ("token_hash");`);

    this.addSql(`alter table "access_grant" drop constraint if exists "access_grant_resource_type_check";`);
    this.addSql(`alter table "access_grant" add constraint "access_grant_resource_type_check" check ("resource_type" in ('chain', 'bot', 'credential'));`);

    this.addSql(`create table "web_visitor" ("id" uuid not null, "chain_id" uuid not null, "visitor_id" varchar(100) not null, "token_hash" varchar(64) null, "created_at" timestamptz not null, primary key ("id"));`);
    this.addSql(`alter table "web_visitor" add constraint "web_visitor_chain_id_visitor_id_unique" unique ("chain_id", "visitor_id");`);
  }

  override down(): void | Promise<void> {
    this.addSql(`drop table if exists "web_visitor" cascade;`);
    this.addSql(`delete from "access_grant" where "resource_type" = 'credential';`);
    this.addSql(`alter table "access_grant" drop constraint if exists "access_grant_resource_type_check";`);
    this.addSql(`alter table "access_grant" add constraint "access_grant_resource_type_check" check ("resource_type" in ('chain', 'bot'));`);
    this.addSql(`drop table if exists "setup_token" cascade;`);
  }

}
