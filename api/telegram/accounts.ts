// Telegram user accounts: exactly one process holds an account's MTProto connection. A
// process serves an enabled `telegram_user` with a chain, a session and an api id/hash only
// while it holds the account's session-level advisory lock on its own PostgreSQL
// connection (the lease, as for Bot API gateways); while it does, it runs a Temporal worker
// on task queue `account:{botId}` whose `deliverMessage` sends through that connection.
// Incoming private messages (and those of the account's chosen groups) become `signalWithStart` on `chat:{botId}:{peerId}` with the
// bots' message shape. A lost connection is re-established with exponential backoff
// (1 s … 5 min) and reported in the bot's status / lastError.

import pg from 'pg';
import type { MikroORM } from '@mikro-orm/postgresql';
import type { Client } from '@temporalio/client';
import { Worker, type NativeConnection } from '@temporalio/worker';
import { createAccountDelivery } from '../../activities/telegram-account.ts';
import { botSecret } from '../../db/bots.ts';
import { BOTS_CHANNEL } from '../../db/notify.ts';
import { rememberAccountPeer, telegramOwners, telegramWorkflowId } from '../../db/telegram.ts';
import type { Logger } from '../../lib/logger.ts';
import type { SecretBox } from '../../lib/secret-box.ts';
import { classifyAccountError, type AccountApp, type AccountClient, type AccountClientFactory, type AccountIncoming } from '../../lib/telegram-account.ts';
import { BotIdKey, ChainIdKey, ChannelKey, messageSignal, type dialogue, type DialogueInput } from '../../temporal/contracts.ts';
import type { InboundMessage, JsonObject } from '../../workflows/types.ts';
import { cleanText } from './updates.ts';

/** The task queue of an account's worker. */
export const accountTaskQueue = (botId: string): string => `account:${botId}`;

/** An incoming account message in the shape the dialogue takes from bots. */
export function accountInbound(m: AccountIncoming): InboundMessage {
  const text = cleanText(m.text);
  const from: JsonObject = { id: m.from.id };
  if (m.from.firstName) from.first_name = cleanText(m.from.firstName, 256);
  if (m.from.lastName) from.last_name = cleanText(m.from.lastName, 256);
  if (m.from.username) from.username = cleanText(m.from.username, 256);
  if (m.from.langCode) from.language_code = cleanText(m.from.langCode, 35);
  if (m.from.isBot) from.is_bot = true;
  const message: InboundMessage = {
    // An edit is a new message for the session (its id carries the edit's date).
    id: m.edited ? `${m.peerId}:${m.id}:e${m.date}` : `${m.peerId}:${m.id}`,
    kind: m.media ? 'media' : text.startsWith('/') ? 'command' : 'text',
    text,
    date: m.date,
    from,
    chat: { id: m.peerId, type: m.private ? 'private' : 'group' },
  };
  if (m.media) {
    const media: JsonObject = { kind: m.media.kind };
    if (m.media.id) media.id = m.media.id;
    if (m.media.mimeType) media.mime_type = cleanText(m.media.mimeType, 100);
    if (m.media.fileName) media.file_name = cleanText(m.media.fileName, 256);
    if (m.media.size !== undefined && Number.isFinite(m.media.size)) media.file_size = m.media.size;
    if (text) media.caption = text;
    message.media = media;
  }
  if (m.replyToId !== undefined) (message.chat as JsonObject).reply_to_message_id = m.replyToId;
  return message;
}

export interface AccountGatewayOptions {
  orm: MikroORM;
  databaseUrl: string;
  secretBox: SecretBox;
  temporal: Client;
  /** The worker connection and namespace of the account workers. */
  workerConnection: NativeConnection;
  namespace: string;
  /** Task queue of the dialogue workflows (`chainflow`). */
  taskQueue: string;
  logger: Logger;
  accounts: AccountClientFactory;
  reconcileMs?: number;
  /** Backoff of reconnects: first delay and cap (ms). */
  backoff?: { firstMs: number; maxMs: number };
}

export interface AccountGateways {
  held(): string[];
  reconcile(): Promise<void>;
  close(): Promise<void>;
}

interface WantedAccount {
  id: string;
  name: string;
  encrypted_secret: string;
  encrypted_app: string;
  chain_id: string;
}

interface Held {
  fingerprint: string;
  stop: () => Promise<void>;
  connected: boolean;
}

/** What a held connection was made for: a change of session, app or chain makes it anew. */
const fingerprintOf = (bot: WantedAccount): string => `${bot.encrypted_secret}|${bot.encrypted_app}|${bot.chain_id}`;

const LOCK_KEY = "hashtextextended('chainflow:telegram-account:' || $1::text, 0)";

export async function startAccountGateways(opts: AccountGatewayOptions): Promise<AccountGateways> {
  const log = opts.logger;
  const held = new Map<string, Held>();
  const backoff = opts.backoff ?? { firstMs: 1000, maxMs: 300_000 };
  let lease: pg.Client | undefined;
  let closed = false;
  let running: Promise<void> | undefined;

  const setStatus = (botId: string, status: 'stopped' | 'running' | 'error', lastError: string | null) =>
    opts.orm.em.getConnection().execute('update bot set status = ?, last_error = ? where id = ?', [status, lastError, botId]).catch(() => undefined);

  /** Stores the chat's access hash when it is new to this connection (`stored`: peer → hash written) or changed. */
  async function rememberPeer(botId: string, m: AccountIncoming, stored: Map<string, string>): Promise<void> {
    if (!m.accessHash || stored.get(m.peerId) === m.accessHash) return;
    await rememberAccountPeer(opts.orm.em.getConnection(), botId, m.peerId, m.accessHash);
    stored.set(m.peerId, m.accessHash);
  }

  async function dispatch(bot: WantedAccount, m: AccountIncoming, stored: Map<string, string>): Promise<void> {
    const [chain] = await opts.orm.em
      .getConnection()
      .execute<{ active_version_id: string | null; account_groups: string[] | null }[]>('select c.active_version_id, b.account_groups from chain c, bot b where c.id = ? and b.id = ?', [bot.chain_id, bot.id]);
    // Private chats always; a group only while it is one of the account's chosen groups (read per message: a change needs no reconnect).
    if (!m.private && !(chain?.account_groups ?? []).includes(m.peerId)) return;
    // Remembered before the session starts, so its replies can address the peer even from a client made after a restart.
    await rememberPeer(bot.id, m, stored);
    if (!chain?.active_version_id) {
      log.warn({ botId: bot.id }, 'telegram account: the answering chain has no published version; the message is dropped');
      return;
    }
    const input: DialogueInput = { chainId: bot.chain_id, versionId: chain.active_version_id, channel: 'telegram_user', botId: bot.id, owners: telegramOwners(bot.id, m.peerId, m.from.id) };
    await opts.temporal.workflow.signalWithStart<typeof dialogue, [InboundMessage]>('dialogue', {
      workflowId: telegramWorkflowId(bot.id, m.peerId),
      taskQueue: opts.taskQueue,
      args: [input],
      signal: messageSignal,
      signalArgs: [accountInbound(m)],
      typedSearchAttributes: [
        { key: ChainIdKey, value: bot.chain_id },
        { key: ChannelKey, value: 'telegram_user' },
        { key: BotIdKey, value: bot.id },
      ],
    });
  }

  /** Holds one account: connect (with backoff on failure or loss), worker on account:{botId}. */
  function hold(bot: WantedAccount, app: AccountApp, session: string): Held {
    let stopped = false;
    let client: AccountClient | undefined;
    let worker: Worker | undefined;
    let workerDone: Promise<void> | undefined;
    let timer: NodeJS.Timeout | undefined;
    let attempt = 0;
    const h: Held = { fingerprint: fingerprintOf(bot), connected: false, stop: async () => undefined };
    // The peers whose access hash this hold has stored (a new session is a new hold: its peers were forgotten).
    const stored = new Map<string, string>();

    const dropConnection = async () => {
      h.connected = false;
      const w = worker;
      worker = undefined;
      if (w && w.getState() === 'RUNNING') w.shutdown();
      await workerDone?.catch(() => undefined);
      await client?.disconnect().catch(() => undefined);
      client = undefined;
    };
    const retry = (error: string) => {
      if (stopped) return;
      const delay = Math.min(backoff.maxMs, backoff.firstMs * 2 ** attempt);
      attempt++;
      void setStatus(bot.id, 'error', `${error}; reconnecting in ${Math.round(delay / 1000)} s (attempt ${attempt})`);
      timer = setTimeout(() => void connect(), delay);
      timer.unref();
    };
    const connect = async () => {
      if (stopped) return;
      await dropConnection();
      const c = opts.accounts(app, session);
      client = c;
      c.onMessage((m) => {
        dispatch(bot, m, stored).catch((err: unknown) => log.warn({ botId: bot.id, message: err instanceof Error ? err.message : String(err) }, 'telegram account: handing a message to its session failed'));
      });
      c.onConnection((e) => {
        if (e.state === 'disconnected' && h.connected && client === c && !stopped) {
          log.warn({ botId: bot.id }, 'telegram account: connection lost');
          void dropConnection().then(() => retry(`Connection to Telegram lost (${e.error ?? 'closed'})`));
        }
      });
      try {
        await c.connect();
        await c.me();
      } catch (err) {
        const e = classifyAccountError(err);
        if (client === c) await dropConnection();
        if (e.kind === 'unauthorized') {
          await setStatus(bot.id, 'error', `Telegram no longer accepts this account's session (${e.telegram}); sign in again (POST /api/v1/bots/${bot.id}/account/login).`);
          return;
        }
        retry(e.kind === 'flood_wait' ? `Telegram asks to wait ${e.seconds ?? 0} s (${e.telegram})` : `Connecting to Telegram failed (${e.telegram})`);
        return;
      }
      if (stopped) return void (await dropConnection());
      const w = await Worker.create({
        connection: opts.workerConnection,
        namespace: opts.namespace,
        taskQueue: accountTaskQueue(bot.id),
        activities: { deliverMessage: createAccountDelivery({ orm: opts.orm, logger: log, botId: bot.id, accountName: bot.name, client: c }) },
      });
      worker = w;
      workerDone = w.run();
      h.connected = true;
      attempt = 0;
      await setStatus(bot.id, 'running', null);
      log.info({ botId: bot.id }, 'telegram account: connected; serving its task queue');
    };
    h.stop = async () => {
      stopped = true;
      if (timer) clearTimeout(timer);
      await dropConnection();
    };
    void connect();
    return h;
  }

  async function release(botId: string): Promise<void> {
    const h = held.get(botId);
    if (!h) return;
    held.delete(botId);
    await h.stop();
    if (lease) await lease.query(`select pg_advisory_unlock(${LOCK_KEY})`, [botId]).catch(() => undefined);
  }

  async function reconcileOnce(): Promise<void> {
    if (closed) return;
    if (!lease) {
      const client = new pg.Client({ connectionString: opts.databaseUrl, application_name: 'chainflow-telegram-account-lease' });
      client.on('error', () => void lost(client));
      client.on('notification', (n) => {
        if (n.channel === BOTS_CHANNEL) void look();
      });
      await client.connect();
      await client.query(`listen ${BOTS_CHANNEL}`);
      lease = client;
    }
    const wanted = await opts.orm.em.getConnection().execute<WantedAccount[]>(
      `select id, name, encrypted_secret, encrypted_app, chain_id from bot where kind = 'telegram_user' and enabled and chain_id is not null and encrypted_app is not null`,
    );
    const usable = new Map<string, { bot: WantedAccount; session: string; app: AccountApp }>();
    for (const bot of wanted) {
      try {
        const session = botSecret(opts.secretBox, { id: bot.id, encryptedSecret: bot.encrypted_secret });
        const app = JSON.parse(opts.secretBox.decrypt(bot.encrypted_app, `bot-app:${bot.id}`)) as AccountApp;
        if (session !== '') usable.set(bot.id, { bot, session, app });
      } catch {
        // Not decryptable with this key: left to a process that has it.
      }
    }
    for (const [id, h] of [...held]) {
      const want = usable.get(id);
      if (want && fingerprintOf(want.bot) === h.fingerprint) continue;
      await release(id);
      if (!want) await setStatus(id, 'stopped', null);
    }
    for (const { bot, session, app } of usable.values()) {
      if (held.has(bot.id) || closed || !lease) continue;
      const got = await lease.query<{ locked: boolean }>(`select pg_try_advisory_lock(${LOCK_KEY}) as locked`, [bot.id]);
      if (!got.rows[0]?.locked) continue;
      held.set(bot.id, hold(bot, app, session));
    }
  }

  async function lost(client: pg.Client): Promise<void> {
    if (lease !== client) return;
    lease = undefined;
    log.warn({ accounts: [...held.keys()] }, 'telegram account: lease connection lost; dropping the accounts it held');
    for (const id of [...held.keys()]) {
      const h = held.get(id);
      held.delete(id);
      await h?.stop();
    }
    await client.end().catch(() => undefined);
  }

  function look(): Promise<void> {
    if (running) return running.then(() => look());
    running = reconcileOnce()
      .catch((err: unknown) => log.warn({ message: err instanceof Error ? err.message : String(err) }, 'telegram account: reconciling failed; retrying'))
      .finally(() => {
        running = undefined;
      });
    return running;
  }

  await look();
  const timer = setInterval(() => void look(), opts.reconcileMs ?? 2000);
  timer.unref();
  return {
    held: () => [...held.entries()].filter(([, h]) => h.connected).map(([id]) => id),
    reconcile: look,
    async close() {
      closed = true;
      clearInterval(timer);
      await running;
      for (const id of [...held.keys()]) await release(id);
      await lease?.end().catch(() => undefined);
      lease = undefined;
    },
  };
}
