import { Migration } from '@mikro-orm/migrations';

/** Robustness (issue 11 row 8): the send record of POST/PATCH requests without retryUnsafe. */
export class Migration20261201220000_http_attempts extends Migration {

  override name = 'Migration20261201220000_http_attempts';

  override up(): void | Promise<void> {
    this.addSql(`create table "http_attempt" ("key" varchar(64) not null, "idempotency_key" varchar(64) not null, "run_id" varchar(300) not null, "node_id" varchar(200) not null, "outcome" varchar(10) null, "attempts" int not null default 1, "created_at" timestamptz not null, "updated_at" timestamptz not null, primary key ("key"));`);
    this.addSql(`create index "http_attempt_idempotency_key_index" on "http_attempt" ("idempotency_key");`);
    this.addSql(`create index "http_attempt_created_at_index" on "http_attempt" ("created_at");`);
  }

  override down(): void | Promise<void> {
    this.addSql(`drop table if exists "http_attempt" cascade;`);
  }

}
