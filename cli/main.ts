import { loadConfig } from '../config.ts';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { ROOT } from '../lib/paths.ts';

// Each command imports its own modules when it runs: the worker process loads none of
// the API's (express, MCP, GramJS, the web routes), which keeps its memory down.

const HELP = `chainflow <command>

Commands:
  start      everything on embedded defaults: PostgreSQL, Temporal dev server + UI,
             worker, API and editor (uses DATABASE_URL / TEMPORAL_ADDRESS when set)
  worker     run a worker on task queue TEMPORAL_TASK_QUEUE (needs DATABASE_URL)
  api        run the HTTP API and web app on PORT (needs DATABASE_URL)
  migrate    apply database migrations to DATABASE_URL
  import <file> [--rename]
             compile a chain file (YAML or JSON) and store it as a published version
             (DATABASE_URL, or the embedded PostgreSQL of a running \`chainflow start\`)
  backup [dir]
             logical backup of the database: every table as JSON lines, each chain's
             draft as YAML, a manifest (default ./backups/chainflow-<time>; secrets stay
             encrypted: keep CHAINFLOW_SECRET_KEY to restore them)
  restore <dir> [--force]
             migrate the database, then load a backup in one transaction and verify the
             row counts; refuses a database with rows unless --force (which replaces them)
  rotate-key re-encrypt every secret at rest with the first key of CHAINFLOW_SECRET_KEY
             (put the new key first, run this, then drop the old key; docs/deploy.md)
             backup, restore and rotate-key use DATABASE_URL, or the embedded
             PostgreSQL of a running \`chainflow start\`
  user create --email <address> --role admin|editor|viewer [--password <pw>] [--name <name>]
  user reset-password --email <address> [--password <pw>]
             create an account, or set a new password (ends its sessions, lifts a
             lock-out); without --password one is generated and printed once
  user list  every account with its role and status (user commands use DATABASE_URL,
             or the embedded PostgreSQL of a running \`chainflow start\`)
  mcp        an MCP server on stdin/stdout for AI assistants (Claude Desktop, Cursor…),
             bridging to a running API: CHAINFLOW_URL and CHAINFLOW_TOKEN (a personal
             access token); opens no database (docs/mcp.md)
  plugin new NAME | list | install <dir|file.tgz>
             scaffold a plugin (with its test) into PLUGINS_DIR or plugins/, list the
             plugins with status and node types, or copy one in (docs/plugins.md)
  migration:create <name>
             write a new migration from the entity diff (needs DATABASE_URL)
  bundle [file]
             pre-build the workflow bundle (default dist/workflow-bundle.js)
  help       this text

Configuration comes from environment variables; see the README.`;

async function main(argv: string[]): Promise<void> {
  const [command = 'help'] = argv;
  // A .env file in the working directory fills in variables the shell did not set.
  if (existsSync('.env')) process.loadEnvFile('.env');
  const config = loadConfig();
  switch (command) {
    case 'start':
      await (await import('./start.ts')).start(config);
      return;
    case 'worker':
      await (await import('./services.ts')).runWorker(config);
      return;
    case 'api':
      await (await import('./services.ts')).runApi(config);
      return;
    case 'migrate':
      await (await import('./services.ts')).runMigrations(config, (await import('../lib/logger.ts')).createLogger(config.logLevel, 'migrate'));
      return;
    case 'import':
      await (await import('./import-export.ts')).importCommand(config, argv.slice(1));
      return;
    case 'backup':
      await (await import('./backup.ts')).backupCommand(config, argv.slice(1));
      return;
    case 'restore':
      await (await import('./backup.ts')).restoreCommand(config, argv.slice(1));
      return;
    case 'rotate-key':
      await (await import('./rotate-key.ts')).rotateKeyCommand(config);
      return;
    case 'mcp':
      await (await import('./mcp.ts')).mcpCommand(config);
      return;
    case 'user':
      await (await import('./user.ts')).userCommand(config, argv.slice(1));
      return;
    case 'plugin':
      await (await import('./plugin.ts')).pluginCommand(config, argv.slice(1));
      return;
    case 'migration:create': {
      const name = argv[1];
      if (!name || !/^[a-z0-9-]+$/.test(name)) throw new Error('Usage: chainflow migration:create <name> (lowercase letters, digits, dashes)');
      if (!config.databaseUrl) throw new Error('DATABASE_URL is not set: point it at a database migrated to the current schema.');
      const { createOrm } = await import('../db/orm.ts');
      const orm = await createOrm({ url: config.databaseUrl, poolMax: 1 });
      try {
        const res = await orm.migrator.create(join(ROOT, 'db', 'migrations'), false, false, name);
        process.stdout.write(res.fileName ? `wrote db/migrations/${res.fileName}: add it to db/migrations/index.ts\n` : 'no schema changes\n');
      } finally {
        await orm.close();
      }
      return;
    }
    case 'bundle': {
      const out = argv[1] ?? join(ROOT, 'dist', 'workflow-bundle.js');
      mkdirSync(dirname(out), { recursive: true });
      writeFileSync(out, await (await import('../temporal/bundle.ts')).bundleWorkflows());
      process.stdout.write(`wrote ${out}\n`);
      return;
    }
    case 'help':
    case '--help':
    case '-h':
      process.stdout.write(`${HELP}\n`);
      return;
    default:
      process.stderr.write(`Unknown command "${command}".\n\n${HELP}\n`);
      process.exit(2);
  }
}

main(process.argv.slice(2)).catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
