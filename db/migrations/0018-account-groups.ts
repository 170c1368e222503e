import { Migration } from '@mikro-orm/migrations';

/** Telegram user accounts (issue 13): the groups whose messages an account answers (Bot API style chat ids, `-…`); none by default (null: none). */
export class Migration20261202050000_account_groups extends Migration {

  override name = 'Migration20261202050000_account_groups';

  override up(): void | Promise<void> {
    this.addSql(`alter table "bot" add column "account_groups" jsonb null;`);
  }

  override down(): void | Promise<void> {
    this.addSql(`alter table "bot" drop column "account_groups";`);
  }

}
