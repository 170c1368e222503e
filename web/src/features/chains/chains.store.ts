import { defineStore } from 'pinia';
import { ref, shallowRef } from 'vue';
import { client, unwrap, type ChainDetail, type ChainSummary, type Grant, type Schemas } from '../../api/client.ts';
import { ApiError } from '../../api/errors.ts';

export type ResourceRole = Grant['role'];

/** The chain list: search, create, import, duplicate, delete, sharing. */
export const useChainsStore = defineStore('chains', () => {
  const items = shallowRef<ChainSummary[]>([]);
  const total = ref(0);
  const query = ref('');
  const loading = ref(false);
  const error = ref<ApiError | null>(null);
  let loadSeq = 0;

  async function load(): Promise<void> {
    const seq = ++loadSeq;
    loading.value = true;
    error.value = null;
    try {
      const q = query.value.trim();
      const page = await unwrap(client.GET('/api/v1/chains', { params: { query: { limit: 200, sort: '-updatedAt', ...(q ? { q } : {}) } } }));
      if (seq !== loadSeq) return;
      items.value = page.items;
      total.value = page.total;
    } catch (err) {
      if (seq === loadSeq) error.value = err instanceof ApiError ? err : new ApiError(0, 'network', String(err));
    } finally {
      if (seq === loadSeq) loading.value = false;
    }
  }

  async function create(name: string): Promise<ChainDetail> {
    const chain = await unwrap(client.POST('/api/v1/chains', { params: { query: { onConflict: 'rename' } }, body: { name } }));
    await load();
    return chain;
  }

  /** Imports a YAML or JSON chain file (published as version 1). */
  async function importText(text: string, rename: boolean): Promise<Schemas['ImportResult']> {
    const json = /^\s*[[{]/.test(text);
    const result = await unwrap(
      client.POST('/api/v1/chains/import', {
        params: { query: { onConflict: rename ? 'rename' : 'error' } },
        body: text,
        bodySerializer: (body: unknown) => String(body),
        headers: { 'Content-Type': json ? 'application/json' : 'application/yaml' },
      }),
    );
    await load();
    return result;
  }

  async function duplicate(id: string): Promise<ChainDetail> {
    const chain = await unwrap(client.POST('/api/v1/chains/{id}/duplicate', { params: { path: { id } } }));
    await load();
    return chain;
  }

  async function remove(id: string): Promise<void> {
    await unwrap(client.DELETE('/api/v1/chains/{id}', { params: { path: { id }, query: { force: 'false' } } }));
    await load();
  }

  async function exportYaml(id: string, version: 'draft' | 'active' = 'draft'): Promise<string> {
    return unwrap(client.GET('/api/v1/chains/{id}/export', { params: { path: { id }, query: { format: 'yaml', version } }, parseAs: 'text' }));
  }

  async function grants(id: string): Promise<Grant[]> {
    return (await unwrap(client.GET('/api/v1/chains/{id}/grants', { params: { path: { id } } }))).items;
  }

  async function share(id: string, email: string, role: ResourceRole): Promise<void> {
    await unwrap(client.POST('/api/v1/chains/{id}/grants', { params: { path: { id } }, body: { email, role } }));
  }

  async function unshare(id: string, userId: string): Promise<void> {
    await unwrap(client.DELETE('/api/v1/chains/{id}/grants/{userId}', { params: { path: { id, userId } } }));
  }

  return { items, total, query, loading, error, load, create, importText, duplicate, remove, exportYaml, grants, share, unshare };
});

/** Saves text as a file download. */
export function downloadText(filename: string, text: string, type = 'application/yaml'): void {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const a = document.createElement('a');
  a.href = url;
  a.download = filename;
  a.click();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}
