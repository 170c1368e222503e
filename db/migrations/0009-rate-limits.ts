import { Migration } from '@mikro-orm/migrations';

/** Robustness (issue 11 row 9): rate-limit counters shared by every API replica. */
export class Migration20261201210000_rate_limits extends Migration {

  override name = 'Migration20261201210000_rate_limits';

  override up(): void | Promise<void> {
    this.addSql(`create table "rate_limit" ("key" varchar(200) not null, "tat" timestamptz not null, primary key ("key"));`);
    this.addSql(`create index "rate_limit_tat_index" on "rate_limit" ("tat");`);
  }

  override down(): void | Promise<void> {
    this.addSql(`drop table if exists "rate_limit" cascade;`);
  }

}
