// The real app (API + built web app) on a real database and Temporal worker, listening
// on a loopback port for the browser.

import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { inject } from 'vitest';
import { createApp } from '../../../api/app.ts';
import { startLiveEvents } from '../../../api/live/index.ts';
import { resolveAuthOptions } from '../../../api/auth/options.ts';
import { createUser, signOutEverywhere } from '../../../api/auth/service.ts';
import { UserSchema } from '../../../db/accounts.ts';
import type { GlobalRole } from '../../../db/accounts.ts';
import { createLogger } from '../../../lib/logger.ts';
import { seedExamples } from '../../../cli/seed.ts';
import { startDialogueHarness, type DialogueHarness } from '../../support/dialogue.ts';

export interface E2eApp {
  h: DialogueHarness;
  url: string;
  /** Creates an active account directly (the CLI's way), for signing in through the UI. */
  createAccount(email: string, password: string, role: GlobalRole, name?: string): Promise<void>;
  /** Ends every session of a user on the server (as a password change does). */
  signOutEverywhere(email: string): Promise<void>;
  /** Imports examples/greeting.yaml as `npm start` does on first start. */
  seedExamples(): Promise<string[]>;
  close(): Promise<void>;
}

/** `live`: also serve the live run events socket (/api/v1/ws), as `npm start` does. */
export async function startE2eApp(prefix: string, opts: { live?: boolean; httpAllow?: string[] } = {}): Promise<E2eApp> {
  const h = await startDialogueHarness(prefix, opts.httpAllow ? { httpAllow: opts.httpAllow } : {});
  const auth = resolveAuthOptions({ rateLimitPerMinute: 100_000, totpBox: h.secretBox });
  const app = createApp({ orm: h.db.orm, temporal: h.client, logger: createLogger('silent', 'e2e'), taskQueue: h.taskQueue, auth, secretBox: h.secretBox, webDir: inject('webDist') });
  const server: Server = createServer(app);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const live = opts.live ? await startLiveEvents(server, { orm: h.db.orm, databaseUrl: h.db.url, jwtSecret: auth.jwtSecret, logger: createLogger('silent', 'e2e') }) : null;
  return {
    h,
    url: `http://127.0.0.1:${port}`,
    createAccount: async (email, password, role, name) => {
      const em = h.db.orm.em.fork();
      await createUser(em, { email, password, role, name });
      await em.flush();
    },
    signOutEverywhere: async (email) => {
      const em = h.db.orm.em.fork();
      const user = await em.findOneOrFail(UserSchema, { email });
      await signOutEverywhere(em, user);
      await em.flush();
    },
    seedExamples: () => seedExamples(h.db.orm),
    close: async () => {
      await live?.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await h.close();
    },
  };
}
