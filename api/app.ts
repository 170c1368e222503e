import { existsSync } from 'node:fs';
import { join } from 'node:path';
import express, { type Express } from 'express';
import type { MikroORM } from '@mikro-orm/postgresql';
import type { Client } from '@temporalio/client';
import type { Logger } from '../lib/logger.ts';
import { errorHandler, notFoundHandler } from './errors.ts';
import { healthRoutes } from './routes/health.ts';
import { chatRoutes } from './routes/chat.ts';

export interface AppDeps {
  orm: MikroORM;
  temporal: Client;
  logger: Logger;
  /** Built web app (web/dist); served at / when present. */
  webDir?: string;
  /** Temporal UI base URL, shown to the web app. */
  temporalUiUrl?: string | undefined;
  /** Task queue of the dialogue workflows. */
  taskQueue: string;
}

/** Builds the Express app without listening (cli/ listens; tests use it directly). */
export function createApp(deps: AppDeps): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', 'loopback');
  app.use(express.json({ limit: '1mb' }));

  app.use(healthRoutes({ orm: deps.orm, temporal: deps.temporal }));

  const api = express.Router();
  api.get('/info', (_req, res) => {
    res.json({
      name: 'Chainflow',
      namespace: deps.temporal.options.namespace,
      temporalUiUrl: deps.temporalUiUrl ?? null,
    });
  });
  api.use(chatRoutes({ orm: deps.orm, temporal: deps.temporal, taskQueue: deps.taskQueue }));
  app.use('/api/v1', api);
  app.use('/api', notFoundHandler);

  if (deps.webDir && existsSync(join(deps.webDir, 'index.html'))) {
    const webDir = deps.webDir;
    app.use(express.static(webDir, { index: 'index.html', maxAge: '1h' }));
    // Client-side routes fall back to the SPA shell.
    app.get(/^\/(?!api\/|health$|ready$).*/, (_req, res) => res.sendFile(join(webDir, 'index.html')));
  }
  app.use(notFoundHandler);
  app.use(errorHandler(deps.logger));
  return app;
}
