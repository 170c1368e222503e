import { Migration } from '@mikro-orm/migrations';

/** Indexes the daily retention cleanup (activities/cleanup.ts) deletes by. */
export class Migration20261201200000_retention extends Migration {

  override name = 'Migration20261201200000_retention';

  override up(): void | Promise<void> {
    this.addSql(`create index "run_event_at_index" on "run_event" ("at");`);
    this.addSql(`create index "variable_updated_at_index" on "variable" ("updated_at");`);
  }

  override down(): void | Promise<void> {
    this.addSql(`drop index if exists "run_event_at_index";`);
    this.addSql(`drop index if exists "variable_updated_at_index";`);
  }

}
