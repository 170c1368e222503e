import { defineStore } from 'pinia';
import { ref } from 'vue';
import { client, unwrap, type Schemas } from '../../api/client.ts';

export type Plugin = Schemas['Plugin'];
export type PluginSettings = Schemas['PluginSettings'];
export type PermissionSet = { network: string[]; credentials: string[] };

/** The installed plugins (GET /api/v1/plugins) and the admin's actions on them. */
export const usePluginsStore = defineStore('plugins', () => {
  const items = ref<Plugin[]>([]);
  const loading = ref(false);
  const error = ref<unknown>(null);

  async function refresh(): Promise<void> {
    loading.value = true;
    error.value = null;
    try {
      items.value = (await unwrap(client.GET('/api/v1/plugins'))).items;
    } catch (err) {
      error.value = err;
    } finally {
      loading.value = false;
    }
  }

  function replace(plugin: Plugin): Plugin {
    items.value = items.value.map((item) => (item.id === plugin.id ? plugin : item));
    return plugin;
  }

  const path = (id: string) => ({ params: { path: { id } } });

  return {
    items,
    loading,
    error,
    refresh,
    approve: async (id: string, permissions: PermissionSet) => replace(await unwrap(client.POST('/api/v1/plugins/{id}/approve', { ...path(id), body: { permissions, enable: true } }))),
    enable: async (id: string) => replace(await unwrap(client.POST('/api/v1/plugins/{id}/enable', path(id)))),
    disable: async (id: string) => replace(await unwrap(client.POST('/api/v1/plugins/{id}/disable', path(id)))),
    reload: async (id: string) => replace(await unwrap(client.POST('/api/v1/plugins/{id}/reload', path(id)))),
    settings: (id: string) => unwrap(client.GET('/api/v1/plugins/{id}/settings', path(id))),
    saveSettings: (id: string, values: Record<string, unknown>) => unwrap(client.PUT('/api/v1/plugins/{id}/settings', { ...path(id), body: { values: values as never } })),
  };
});
