// Plugin web tabs (docs/plugins.md, "Web tab"): a plugin may ship a built web bundle
// (`webTab: { title, dir }`, a folder inside the plugin with index.html). The editor lists
// them with `GET /plugin-tabs` and shows each in an iframe sandboxed to `allow-scripts`
// (no same origin: the tab cannot read the editor's storage, cookies or API token), which
// loads the files from `GET /plugin-tabs/{id}/{file}` (file may hold slashes). Only files
// inside the declared folder are served (no `..`, no symlinks out of it), with their content types.

import { realpathSync, statSync } from 'node:fs';
import { extname, resolve, sep } from 'node:path';
import { z } from 'zod';
import type { PluginRegistry } from '../../lib/plugins/host.ts';
import { processPlugins } from '../../lib/plugins/process.ts';
import { HttpError } from '../errors.ts';
import { authorize } from '../policy.ts';
import { defineOperation, type Operation } from './define.ts';

const localized = z.object({ en: z.string(), ru: z.string() });

export const pluginTabListSchema = z
  .object({
    items: z.array(
      z.object({
        pluginId: z.string(),
        version: z.string(),
        title: localized,
        /** Where the tab's index.html is served (relative to the site). */
        url: z.string(),
        /** The plugin's node types: what the tab may ask the editor to insert. */
        nodeTypes: z.array(z.string()),
      }),
    ),
    total: z.number().int(),
  })
  .meta({ id: 'PluginTabList' });

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.htm': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.gif': 'image/gif',
  '.webp': 'image/webp',
  '.ico': 'image/x-icon',
  '.woff': 'font/woff',
  '.woff2': 'font/woff2',
  '.txt': 'text/plain; charset=utf-8',
  '.wasm': 'application/wasm',
};

export const pluginTabUrl = (pluginId: string) => `/api/v1/plugin-tabs/${encodeURIComponent(pluginId)}/index.html`;

/** The real folder of a loaded, enabled plugin's web tab, or undefined (none, or declared outside the plugin). */
export function webTabRoot(registry: PluginRegistry | undefined, pluginId: string): string | undefined {
  const status = registry?.get(pluginId);
  const dir = status?.manifest?.webTab?.dir;
  if (!registry || !status || !dir || !registry.isEnabled(pluginId)) return undefined;
  try {
    const folder = realpathSync(status.folder);
    const root = realpathSync(resolve(folder, dir));
    return root === folder || root.startsWith(folder + sep) ? root : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The file a request names inside `root`, or undefined: every segment a plain name (none
 * empty or starting with '.', so no `..` and no dotfiles; no NUL, slash or backslash inside one), the resolved real
 * path inside the root and a regular file. A folder gives its index.html.
 */
export function tabFile(root: string, segments: readonly string[]): string | undefined {
  const clean = segments.length ? segments : ['index.html'];
  for (const segment of clean) if (!segment || segment.startsWith('.') || /[\\/\0]/.test(segment)) return undefined;
  try {
    let file = realpathSync(resolve(root, ...clean));
    if (!file.startsWith(root + sep)) return undefined;
    if (statSync(file).isDirectory()) file = realpathSync(resolve(file, 'index.html'));
    return file.startsWith(root + sep) && statSync(file).isFile() ? file : undefined;
  } catch {
    return undefined;
  }
}

/** `GET /plugin-tabs`: the web tabs of the loaded, enabled plugins. */
export function pluginTabOperations(plugins?: () => PluginRegistry | undefined): Operation[] {
  return [
    defineOperation({
      method: 'get',
      path: '/plugin-tabs',
      operationId: 'listPluginTabs',
      summary: 'The web tabs plugins add to the editor',
      description: 'Each tab is served at `url` and shown in an iframe sandboxed to allow-scripts; it talks to the editor by postMessage (docs/plugins.md).',
      tags: ['node types'],
      auth: 'bearer',
      responses: { 200: { description: 'The tabs, by plugin id', schema: pluginTabListSchema } },
      handler: ({ res, principal }) => {
        authorize(principal, 'node-types:read');
        const registry = (plugins ?? processPlugins)();
        const items = (registry?.list() ?? [])
          .filter((status) => status.manifest?.webTab && webTabRoot(registry, status.id))
          .map((status) => ({
            pluginId: status.id,
            version: status.version ?? '',
            title: status.manifest?.webTab?.title ?? { en: status.id, ru: status.id },
            url: pluginTabUrl(status.id),
            nodeTypes: (status.manifest?.nodes ?? []).map((node) => node.type),
          }))
          .sort((a, b) => (a.pluginId < b.pluginId ? -1 : 1));
        res.json({ items, total: items.length });
      },
    }),
    defineOperation({
      method: 'get',
      path: '/plugin-tabs/:id/*file',
      operationId: 'getPluginTabFile',
      summary: 'A file of a plugin\'s web tab',
      description:
        'Public (plugin code, no data): the files inside the folder the plugin declares as `webTab.dir`, with their content types, `X-Content-Type-Options: nosniff` and `Content-Security-Policy: sandbox allow-scripts`. `file` may contain slashes (files in sub-folders); `..`, empty segments and symlinks out of the folder give 404.',
      tags: ['node types'],
      auth: 'public',
      params: z.object({ id: z.string().max(63), file: z.union([z.string(), z.array(z.string())]).meta({ description: 'The file\'s path inside the tab\'s folder, e.g. index.html or assets/app.js' }) }),
      errors: [404],
      responses: { 200: { description: 'The file', content: { '*/*': z.string() } } },
      handler: ({ res, params }) => {
        const root = webTabRoot((plugins ?? processPlugins)(), params.id);
        const file = root ? tabFile(root, ([] as string[]).concat(params.file)) : undefined;
        if (!file) throw new HttpError(404, 'not_found', `No such file in the web tab of plugin "${params.id}".`);
        res.setHeader('Content-Type', CONTENT_TYPES[extname(file).toLowerCase()] ?? 'application/octet-stream');
        res.setHeader('X-Content-Type-Options', 'nosniff');
        // Opened on its own, the tab is as sandboxed as in the editor's iframe.
        res.setHeader('Content-Security-Policy', "sandbox allow-scripts; frame-ancestors 'self'");
        res.setHeader('Cache-Control', 'no-cache');
        res.sendFile(file, { dotfiles: 'allow' });
      },
    }),
  ];
}
