import { parseVariablePath, renderTemplate, type JsonObject, type JsonValue } from '../chain/index.ts';
import { parsePluginType } from '../chain/nodes/plugin.ts';
import { PluginCallError, type PluginRegistry } from '../lib/plugins/host.ts';
import { processPlugins } from '../lib/plugins/process.ts';
import { processPluginState } from '../lib/plugins/state.ts';
import { effectError, effectOk, redactResult, type EffectInput, type EffectResult, type VariableWrite } from './effects.ts';

/** Renders `{{ … }}` templates in every string of a plugin node's config. */
function renderConfig(value: JsonValue, scope: EffectInput<JsonObject>['scope']): JsonValue {
  if (typeof value === 'string') return value.includes('{{') ? renderTemplate(value, scope) : value;
  if (Array.isArray(value)) return value.map((item) => renderConfig(item, scope));
  if (value !== null && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, renderConfig(item, scope)]));
  return value;
}

/**
 * Plugin nodes (`plugin:<pluginId>/<type>`): the node runs in its plugin's worker thread
 * (lib/plugins/host.ts). A plugin that is missing, disabled, killed for overrunning its
 * time or memory, or failing leaves through the node's 'error' port with a message naming
 * the plugin; the variables it sets must be in a writable scope (session, user, chat, bot).
 */
export function createPluginActivities(deps: { plugins?: PluginRegistry } = {}) {
  async function run(input: EffectInput<JsonObject> & { pluginType: string }): Promise<EffectResult> {
    const parsed = parsePluginType(input.pluginType);
    const registry = deps.plugins ?? processPlugins();
    if (!parsed || !registry) return effectError('plugin_not_installed', `Plugin node type "${input.pluginType}" is not installed on this worker.`);
    const state = processPluginState();
    const policy = state?.policy(parsed.pluginId);
    if (policy && !policy.runs && registry.get(parsed.pluginId)?.manifest?.nodes.some((n) => n.type === input.pluginType)) {
      return effectError('plugin_disabled', `Node type "${input.pluginType}": ${policy.message}`);
    }
    if (!registry.installedTypes().includes(input.pluginType)) {
      return effectError('plugin_not_installed', `Node type "${input.pluginType}": no installed plugin provides it (plugin "${parsed.pluginId}" is missing, disabled or lacks "${parsed.nodeType}").`);
    }
    const vars = Object.fromEntries(Object.entries(input.scope).map(([name, values]) => [name, values])) as Record<string, JsonValue>;
    try {
      const result = await registry.call(parsed.pluginId, { kind: 'node', key: parsed.nodeType, config: renderConfig(input.config, input.scope), vars, runId: input.runId, nodeId: input.nodeId });
      if (result.kind !== 'node') return effectError('plugin_failed', `Plugin "${parsed.pluginId}" answered a node run with "${result.kind}".`);
      const set: VariableWrite[] = [];
      for (const [variable, value] of Object.entries(result.outcome.set)) {
        const check = parseVariablePath(variable, { write: true });
        if (!check.ok) return effectError('plugin_bad_variable', `Plugin "${parsed.pluginId}" tried to set "${variable}": ${check.message}.`);
        set.push({ variable, value: value as JsonValue });
      }
      if (result.outcome.ok) return effectOk(set, { plugin: parsed.pluginId });
      return effectError(result.outcome.error?.code ?? 'plugin_error', result.outcome.error?.message ?? 'the plugin reported an error', { set });
    } catch (error) {
      if (error instanceof PluginCallError) return effectError(error.code, error.message);
      throw error;
    }
  }

  return {
    async runPluginNode(input: EffectInput<JsonObject> & { pluginType: string }): Promise<EffectResult> {
      // Secrets the plugins were given here (secret settings, credentials) never reach the session's variables or history.
      const result = await run(input);
      const needles = processPluginState()?.secretNeedles() ?? [];
      return needles.length ? redactResult(result, needles) : result;
    },
  };
}
