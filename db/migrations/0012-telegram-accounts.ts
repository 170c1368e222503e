import { Migration } from '@mikro-orm/migrations';

/** Telegram user accounts (issue 13): the app's api id/hash and a login in progress, both encrypted on the bot. */
export class Migration20261201230000_telegram_accounts extends Migration {

  override name = 'Migration20261201230000_telegram_accounts';

  override up(): void | Promise<void> {
    this.addSql(`alter table "bot" add column "encrypted_app" text null, add column "encrypted_login" text null;`);
  }

  override down(): void | Promise<void> {
    this.addSql(`alter table "bot" drop column "encrypted_app", drop column "encrypted_login";`);
  }

}
