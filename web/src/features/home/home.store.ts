import { defineStore } from 'pinia';
import { ref } from 'vue';
import { client, type Schemas } from '../../api/client.ts';

type Info = { name: string; version: string; namespace: string; temporalUiUrl: string | null };

/** Readiness of PostgreSQL and Temporal, and the installation facts. */
export const useHomeStore = defineStore('home', () => {
  const readiness = ref<Schemas['Readiness'] | null>(null);
  const info = ref<Info | null>(null);
  const loading = ref(false);
  const failed = ref(false);

  async function refresh(): Promise<void> {
    loading.value = true;
    failed.value = false;
    try {
      // /ready answers 503 with the same body while something is down.
      const [ready, about] = await Promise.all([client.GET('/ready'), client.GET('/api/v1/info')]);
      const body: unknown = ready.data ?? ready.error;
      readiness.value = body !== undefined && typeof body === 'object' && body !== null && 'checks' in body ? (ready.data ?? (ready.error as Schemas['Readiness'])) : null;
      info.value = about.data ?? null;
    } catch {
      failed.value = true;
    } finally {
      loading.value = false;
    }
  }

  return { readiness, info, loading, failed, refresh };
});
