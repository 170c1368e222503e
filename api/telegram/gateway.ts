import pg from 'pg';
import type { MikroORM } from '@mikro-orm/postgresql';
import { botSecret } from '../../db/bots.ts';
import { BOTS_CHANNEL } from '../../db/notify.ts';
import type { SecretBox } from '../../lib/secret-box.ts';
import type { DispatchDeps } from './dispatch.ts';
import { BotPoller } from './poller.ts';
import { DEFAULT_INBOUND_LIMITS, type InboundLimits } from './rate-limit.ts';
import { WebhookKeeper } from './webhook-keeper.ts';
import { syncCommands, type BoundCommand } from './commands.ts';
import { telegramApi } from '../../lib/telegram-api.ts';
import type { ChainIR } from '../../chain/index.ts';
import { gatewayPlugins } from './plugins.ts';

export interface GatewayOptions extends DispatchDeps {
  orm: MikroORM;
  /** PUBLIC_URL: where Telegram reaches webhook-mode bots (`{publicUrl}/api/v1/telegram/{botId}/webhook`). */
  publicUrl?: string;
  /** The database the bots live in; the lease needs its own connection to it. */
  databaseUrl: string;
  secretBox: SecretBox;
  /** How often the gateways look for bots to take (and take over); default 2 s. */
  reconcileMs?: number;
  /** Long-poll timeout of getUpdates in seconds; default 25. */
  pollTimeoutSeconds?: number;
  inbound?: InboundLimits;
}

export interface TelegramGateways {
  /** Ids of the bots whose gateway this process runs. */
  held(): string[];
  /** Updates this process handed to sessions, per bot. */
  handled(botId: string): number;
  /** Looks at the bots now (also done on every change NOTIFY and every `reconcileMs`). */
  reconcile(): Promise<void>;
  /** Stops every gateway and releases the leases. */
  close(): Promise<void>;
}

interface WantedBot {
  id: string;
  encrypted_secret: string;
  api_root: string;
  mode: 'polling' | 'webhook';
  chain_id: string;
  /** The chain's active version: a publish restarts the gateway, which sets the commands again. */
  active_version_id: string | null;
  /** The bot's bound commands as one string: a change re-sets the command menus (no restart). */
  commands: string;
}

interface Held {
  fingerprint: string;
  poller: BotPoller | undefined;
  webhook: WebhookKeeper | undefined;
  commands: string;
  /** Languages of the command menus this holder set. */
  menus: Set<string>;
}

const fingerprintOf = (b: WantedBot) => `${b.encrypted_secret}|${b.api_root}|${b.mode}|${b.chain_id}|${b.active_version_id ?? ''}`;

/** The advisory lock of a bot's gateway (one 64-bit key per bot id). */
const LOCK_KEY = "hashtextextended('chainflow:telegram-gateway:' || $1::text, 0)";

/**
 * The Telegram gateways of one API process. Exactly one gateway runs per enabled
 * `telegram_bot` with an answering chain across all API processes: a process runs a
 * bot's gateway only while it holds the bot's session-level advisory lock on its own
 * PostgreSQL connection (the lease). When the process dies, its connection closes and
 * PostgreSQL releases the locks; another process takes them at its next look, within
 * `reconcileMs`. Changes (enable, disable, new token, new Bot API server, mode, chain,
 * deletion) arrive by NOTIFY on `chainflow_bots` and take effect without a restart.
 */
export async function startTelegramGateways(opts: GatewayOptions): Promise<TelegramGateways> {
  const log = opts.logger;
  const held = new Map<string, Held>();
  const reconcileMs = opts.reconcileMs ?? 2000;
  let lease: pg.Client | undefined;
  let closed = false;
  let running: Promise<void> | undefined;
  let again = false;

  const setStatus = async (botId: string, status: 'stopped' | 'running' | 'error', lastError: string | null) => {
    await opts.orm.em.getConnection().execute('update bot set status = ?, last_error = ? where id = ?', [status, lastError, botId]);
  };

  /** `unwanted`: the bot was disabled, deleted or left without a chain (its webhook goes too). */
  async function stopHeld(botId: string, release: boolean, unwanted = false): Promise<void> {
    const h = held.get(botId);
    if (!h) return;
    held.delete(botId);
    await h.poller?.stop();
    await h.webhook?.stop(unwanted);
    if (release && lease) await lease.query(`select pg_advisory_unlock(${LOCK_KEY})`, [botId]).catch(() => undefined);
  }

  /** The lease connection is gone: every lock with it. Stop everything; the next look reconnects. */
  async function leaseLost(err: unknown): Promise<void> {
    const lost = lease;
    lease = undefined;
    if (lost) log.warn({ message: err instanceof Error ? err.message : String(err), bots: [...held.keys()] }, 'telegram: lease connection lost; stopping the gateways it held');
    for (const id of [...held.keys()]) await stopHeld(id, false);
    await lost?.end().catch(() => undefined);
  }

  async function connectLease(): Promise<pg.Client> {
    const client = new pg.Client({ connectionString: opts.databaseUrl, application_name: 'chainflow-telegram-lease' });
    client.on('error', (err) => void leaseLost(err));
    client.on('end', () => {
      if (lease === client) void leaseLost(new Error('connection ended'));
    });
    client.on('notification', (n) => {
      if (n.channel === BOTS_CHANNEL) void look();
    });
    await client.connect();
    await client.query(`listen ${BOTS_CHANNEL}`);
    return client;
  }

  /** The chain's command triggers become the bot's command menu (in the background). */
  async function commandsFor(bot: WantedBot, token: string): Promise<void> {
    try {
      const conn = opts.orm.em.getConnection();
      const [row] = bot.active_version_id ? await conn.execute<{ ir: ChainIR }[]>('select ir from chain_version where id = ?', [bot.active_version_id]) : [];
      const bound = await conn.execute<BoundCommand[]>('select command, description, descriptions from bot_command where bot_id = ? order by command', [bot.id]);
      const h = held.get(bot.id);
      const plugins = gatewayPlugins(opts)?.commands() ?? [];
      const menus = await syncCommands(telegramApi(token, bot.api_root, 15), row?.ir ?? null, bound, log, bot.id, token, h?.menus, plugins);
      if (h) h.menus = menus;
    } catch (err) {
      log.warn({ botId: bot.id, message: err instanceof Error ? err.message : String(err) }, 'telegram: reading the chain for the command menu failed');
    }
  }

  async function reconcileOnce(): Promise<void> {
    if (closed) return;
    if (!lease) {
      try {
        lease = await connectLease();
      } catch (err) {
        log.warn({ message: err instanceof Error ? err.message : String(err) }, 'telegram: could not open the lease connection; retrying');
        lease = undefined;
        return;
      }
    }
    const conn = opts.orm.em.getConnection();
    const wanted = await conn.execute<WantedBot[]>(
      `select b.id, b.encrypted_secret, b.api_root, b.mode, b.chain_id, c.active_version_id,
              (select coalesce(string_agg(bc.command || '=' || bc.chain_id || '@' || extract(epoch from bc.updated_at), ',' order by bc.command), '') from bot_command bc where bc.bot_id = b.id) as commands
         from bot b left join chain c on c.id = b.chain_id
        where b.kind = 'telegram_bot' and b.enabled and b.chain_id is not null`,
    );
    // Plugin commands are in every bot's menu: a plugin change re-sets the menus too.
    const pluginCommands = (gatewayPlugins(opts)?.commands() ?? []).map((c) => `${c.command}=${c.pluginId}:${c.description.en}|${c.description.ru}`).join(',');
    for (const b of wanted) b.commands = `${b.commands}#${pluginCommands}`;
    const byId = new Map(wanted.map((b) => [b.id, b]));
    for (const [id, h] of [...held]) {
      const want = byId.get(id);
      if (want && fingerprintOf(want) === h.fingerprint) {
        if (want.commands !== h.commands && (h.poller ?? h.webhook)) {
          h.commands = want.commands;
          void commandsFor(want, botSecret(opts.secretBox, { id: want.id, encryptedSecret: want.encrypted_secret }));
        }
        continue;
      }
      await stopHeld(id, true, !want);
      if (!want) await setStatus(id, 'stopped', null).catch(() => undefined);
      log.info({ botId: id, reason: want ? 'changed' : 'disabled or deleted' }, 'telegram: gateway stopped');
    }
    for (const bot of wanted) {
      if (held.has(bot.id) || closed || !lease) continue;
      const got = await lease.query<{ locked: boolean }>(`select pg_try_advisory_lock(${LOCK_KEY}) as locked`, [bot.id]);
      if (!got.rows[0]?.locked) continue;
      let token: string;
      try {
        token = botSecret(opts.secretBox, { id: bot.id, encryptedSecret: bot.encrypted_secret });
      } catch {
        await setStatus(bot.id, 'error', 'The token cannot be decrypted with CHAINFLOW_SECRET_KEY (rotated without this key?); PATCH the bot with its token again.');
        held.set(bot.id, { fingerprint: fingerprintOf(bot), poller: undefined, webhook: undefined, commands: bot.commands, menus: new Set() });
        continue;
      }
      if (bot.mode === 'webhook') {
        const webhook = new WebhookKeeper({
          bot: { id: bot.id, token, apiRoot: bot.api_root },
          orm: opts.orm,
          secretBox: opts.secretBox,
          logger: log,
          publicUrl: opts.publicUrl,
          setStatus: (status, lastError) => setStatus(bot.id, status, lastError),
        });
        held.set(bot.id, { fingerprint: fingerprintOf(bot), poller: undefined, webhook, commands: bot.commands, menus: new Set() });
        webhook.start();
        void commandsFor(bot, token);
        log.info({ botId: bot.id, apiRoot: bot.api_root }, 'telegram: gateway started (webhook)');
        continue;
      }
      const poller = new BotPoller({
        bot: { id: bot.id, chainId: bot.chain_id, token, apiRoot: bot.api_root },
        deps: opts,
        limits: opts.inbound ?? DEFAULT_INBOUND_LIMITS,
        pollTimeoutSeconds: opts.pollTimeoutSeconds ?? 25,
        setStatus: (status, lastError) => setStatus(bot.id, status, lastError),
      });
      held.set(bot.id, { fingerprint: fingerprintOf(bot), poller, webhook: undefined, commands: bot.commands, menus: new Set() });
      poller.start();
      void commandsFor(bot, token);
      log.info({ botId: bot.id, apiRoot: bot.api_root }, 'telegram: gateway started (long polling)');
    }
  }

  /** Runs reconcileOnce, never two at once; a request while one runs runs it once more. */
  function look(): Promise<void> {
    if (running) {
      again = true;
      return running;
    }
    running = (async () => {
      do {
        again = false;
        try {
          await reconcileOnce();
        } catch (err) {
          log.warn({ message: err instanceof Error ? err.message : String(err) }, 'telegram: reconciling the gateways failed; retrying');
        }
      } while (again && !closed);
    })().finally(() => {
      running = undefined;
    });
    return running;
  }

  await look();
  const timer = setInterval(() => void look(), reconcileMs);
  timer.unref();

  return {
    held: () => [...held.entries()].filter(([, h]) => h.poller ?? h.webhook).map(([id]) => id),
    handled: (botId) => held.get(botId)?.poller?.handled ?? 0,
    reconcile: look,
    async close() {
      closed = true;
      clearInterval(timer);
      await running;
      for (const id of [...held.keys()]) await stopHeld(id, true);
      const l = lease;
      lease = undefined;
      await l?.end().catch(() => undefined);
    },
  };
}
