import { defineStore } from 'pinia';
import { computed, ref } from 'vue';
import { client, setTokenSource, unwrap, type Schemas, type Session, type User } from '../../api/client.ts';

type RegisterRequest = Schemas['RegisterRequest'];

const STORAGE_KEY = 'chainflow.session';
/** Refresh this long before the access token expires. */
const REFRESH_AHEAD_MS = 30_000;

interface Stored {
  refreshToken: string;
  user: User;
}

function readStored(): Stored | null {
  try {
    const raw: unknown = JSON.parse(localStorage.getItem(STORAGE_KEY) ?? 'null');
    if (typeof raw === 'object' && raw !== null && 'refreshToken' in raw && typeof raw.refreshToken === 'string' && 'user' in raw && typeof raw.user === 'object' && raw.user !== null) {
      return { refreshToken: raw.refreshToken, user: raw.user as User };
    }
  } catch {
    // a damaged entry is the same as none
  }
  return null;
}

export type AuthStatus = Awaited<ReturnType<typeof fetchStatus>>;
function fetchStatus() {
  return unwrap(client.GET('/api/v1/auth/status'));
}

/** The signed-in session: tokens (the refresh token survives reloads), the user, sign-in/out. */
export const useAuthStore = defineStore('auth', () => {
  const stored = readStored();
  const user = ref<User | null>(stored?.user ?? null);
  const refreshToken = ref<string | null>(stored?.refreshToken ?? null);
  const accessToken = ref<string | null>(null);
  const expiresAt = ref(0);
  const expiredNotice = ref(false);
  let refreshing: Promise<boolean> | null = null;

  const signedIn = computed(() => user.value !== null && refreshToken.value !== null);

  function adopt(session: Session): void {
    user.value = session.user;
    accessToken.value = session.accessToken;
    refreshToken.value = session.refreshToken;
    expiresAt.value = Date.now() + session.expiresIn * 1000;
    localStorage.setItem(STORAGE_KEY, JSON.stringify({ refreshToken: session.refreshToken, user: session.user } satisfies Stored));
    expiredNotice.value = false;
  }

  function clear(): void {
    user.value = null;
    accessToken.value = null;
    refreshToken.value = null;
    expiresAt.value = 0;
    localStorage.removeItem(STORAGE_KEY);
  }

  async function doRefresh(): Promise<boolean> {
    const token = refreshToken.value;
    if (!token) return false;
    try {
      adopt(await unwrap(client.POST('/api/v1/auth/refresh', { body: { refreshToken: token } })));
      return true;
    } catch {
      return false;
    }
  }

  /** One refresh at a time: concurrent 401s share it (a refresh token is single use). */
  function refresh(): Promise<boolean> {
    refreshing ??= doRefresh().finally(() => {
      refreshing = null;
    });
    return refreshing;
  }

  async function validAccessToken(): Promise<string | null> {
    if (!refreshToken.value) return null;
    if (!accessToken.value || Date.now() > expiresAt.value - REFRESH_AHEAD_MS) await refresh();
    return accessToken.value;
  }

  async function login(body: { email: string; password: string; totp?: string }): Promise<void> {
    adopt(await unwrap(client.POST('/api/v1/auth/login', { body })));
  }

  /** `setupToken` (first run, from the setup link) is sent only when given. */
  async function register(body: RegisterRequest & { setupToken?: string }): Promise<void> {
    adopt(await unwrap(client.POST('/api/v1/auth/register', { body })));
  }

  async function logout(): Promise<void> {
    const token = refreshToken.value;
    clear();
    if (token) await client.POST('/api/v1/auth/logout', { body: { refreshToken: token } }).catch(() => undefined);
  }

  setTokenSource({
    accessToken: validAccessToken,
    refresh,
    expired: () => {
      if (!signedIn.value) return;
      clear();
      expiredNotice.value = true;
    },
  });

  return { user, signedIn, expiredNotice, status: fetchStatus, login, register, logout, refresh, accessToken: validAccessToken };
});
