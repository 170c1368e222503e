import type { JsonObject } from '../chain/index.ts';
import { effectError, type EffectInput, type EffectResult } from './effects.ts';

/**
 * Plugin nodes (`plugin:<pluginId>/<type>`). The plugin loader is a later feature; until
 * a plugin is installed on the worker, its nodes fail through their 'error' port with a
 * message naming the plugin, which is also what happens when a plugin is removed.
 */
export function createPluginActivities() {
  return {
    async runPluginNode(input: EffectInput<JsonObject> & { pluginType: string }): Promise<EffectResult> {
      return effectError('plugin_not_installed', `Plugin node type "${input.pluginType}" is not installed on this worker.`);
    },
  };
}
