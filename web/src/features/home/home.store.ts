import { defineStore } from 'pinia';
import { ref } from 'vue';

interface Check {
  ok: boolean;
  error?: string;
  ms: number;
}
export interface Readiness {
  status: 'ready' | 'unavailable';
  checks: { postgres: Check; temporal: Check };
}
interface Info {
  name: string;
  namespace: string;
  temporalUiUrl: string | null;
}

export const useHomeStore = defineStore('home', () => {
  const readiness = ref<Readiness | null>(null);
  const info = ref<Info | null>(null);
  const loading = ref(false);

  async function refresh(): Promise<void> {
    loading.value = true;
    try {
      const [ready, about] = await Promise.all([fetch('/ready'), fetch('/api/v1/info')]);
      readiness.value = (await ready.json()) as Readiness;
      info.value = (await about.json()) as Info;
    } finally {
      loading.value = false;
    }
  }

  return { readiness, info, loading, refresh };
});
