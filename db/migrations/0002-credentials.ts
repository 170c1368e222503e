import { Migration } from '@mikro-orm/migrations';

export class Migration20261122040825_credentials extends Migration {

  override name = 'Migration20261122040825_credentials';

  override up(): void | Promise<void> {
    this.addSql(`create table "credential" ("id" uuid not null, "name" varchar(100) not null, "kind" text not null, "encrypted_value" text not null, "meta" jsonb not null, "owner_id" uuid null, "created_at" timestamptz not null, "updated_at" timestamptz not null, primary key ("id"));`);
    this.addSql(`alter table "credential" add constraint "credential_name_unique" unique ("name");`);

    this.addSql(`alter table "credential" add constraint "credential_kind_check" check ("kind" in ('openai', 'bearer', 'basic', 'header', 'secret'));`);
  }

  override down(): void | Promise<void> {
    this.addSql(`drop table if exists "credential" cascade;`);
  }

}
