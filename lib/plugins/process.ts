// The plugin registry of this process (API or worker), set once at start by cli/services.ts.
// Code that compiles chains or runs plugin nodes reads it here; in processes without one
// (unit tests, tools) plugin types are not checked at compile time and fail when run.

import type { PluginRegistry } from './host.ts';

let current: PluginRegistry | undefined;

export function setProcessPlugins(registry: PluginRegistry | undefined): void {
  current = registry;
}

export function processPlugins(): PluginRegistry | undefined {
  return current;
}
