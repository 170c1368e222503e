import { z } from 'zod';
import { defineNode, l } from './spec.ts';

/** `plugin:<pluginId>/<type>`, e.g. 'plugin:google-sheets/append-row'. */
export const PLUGIN_TYPE_PATTERN = /^plugin:([a-z0-9][a-z0-9_-]{0,62})\/([A-Za-z0-9][A-Za-z0-9_-]{0,62})$/;

export type PluginNodeType = `plugin:${string}/${string}`;

/** Splits a plugin node type; undefined when it is not one. */
export function parsePluginType(type: string): { pluginId: string; nodeType: string } | undefined {
  const match = PLUGIN_TYPE_PATTERN.exec(type);
  return match ? { pluginId: match[1] ?? '', nodeType: match[2] ?? '' } : undefined;
}

export function isPluginType(type: string): type is PluginNodeType {
  return PLUGIN_TYPE_PATTERN.test(type);
}

/** Free-form config; the plugin validates it when the node runs (runPluginNode). */
export const pluginConfigSchema = z.record(z.string(), z.json());

/** The spec shared by every plugin node type; plugins contribute their own labels and forms at run time. */
export const pluginNode = defineNode({
  type: 'plugin',
  category: 'integration',
  icon: 'puzzle',
  label: l('Plugin node', 'Узел плагина'),
  help: l(
    "A node provided by a plugin. Leaves through 'ok' or 'error'; without an 'error' edge a failure fails the session.",
    "Узел из плагина. Выход через 'ok' или 'error'; без ребра 'error' сбой завершает сессию с ошибкой.",
  ),
  config: pluginConfigSchema,
  defaults: {},
  ports: [
    { id: 'ok', required: false, label: l('OK', 'Успех') },
    { id: 'error', required: false, label: l('Error', 'Ошибка') },
  ],
  errorPorts: ['error'],
  activity: 'runPluginNode',
});
