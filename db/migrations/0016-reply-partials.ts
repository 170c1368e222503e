import { Migration } from '@mikro-orm/migrations';

/** Agent streaming (issue 17 item 5): the text so far of replies a model is streaming. */
export class Migration20261202030000_reply_partials extends Migration {

  override name = 'Migration20261202030000_reply_partials';

  override up(): void | Promise<void> {
    this.addSql(`create table "reply_partial" ("run_id" varchar(300) not null, "reply_id" varchar(200) not null, "chain_id" uuid not null, "node_id" varchar(200) not null, "text" text not null, "seq" int not null, "updated_at" timestamptz not null, primary key ("run_id", "reply_id"));`);
    this.addSql(`create index "reply_partial_updated_at_index" on "reply_partial" ("updated_at");`);
  }

  override down(): void | Promise<void> {
    this.addSql(`drop table if exists "reply_partial" cascade;`);
  }

}
