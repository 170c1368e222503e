import { createRouter, createWebHistory, type RouteRecordRaw } from 'vue-router';
import { useAuthStore } from './features/auth/auth.store.ts';

const routes: RouteRecordRaw[] = [
  { path: '/', redirect: '/chains' },
  { path: '/setup', component: () => import('./features/auth/components/SetupPage.vue'), meta: { public: true } },
  { path: '/login', component: () => import('./features/auth/components/LoginPage.vue'), meta: { public: true } },
  { path: '/register', component: () => import('./features/auth/components/RegisterPage.vue'), meta: { public: true } },
  { path: '/chains', component: () => import('./features/chains/components/ChainListPage.vue') },
  { path: '/chains/:id', component: () => import('./features/editor/components/EditorPage.vue'), props: true },
  { path: '/plugins', component: () => import('./features/plugins/components/PluginsPage.vue') },
  { path: '/status', component: () => import('./features/home/components/StatusPage.vue') },
  { path: '/:rest(.*)*', component: () => import('./features/shell/components/NotFoundPage.vue'), meta: { public: true } },
];

export const router = createRouter({ history: createWebHistory(), routes });

router.beforeEach(async (to) => {
  const auth = useAuthStore();
  if (to.meta.public) {
    if (auth.signedIn && (to.path === '/login' || to.path === '/register')) return '/chains';
    return true;
  }
  if (auth.signedIn) return true;
  try {
    if ((await auth.status()).needsSetup) return { path: '/setup', query: to.query.token ? { token: to.query.token } : {} };
  } catch {
    // the sign-in page shows that the server is unreachable
  }
  return { path: '/login', query: to.fullPath !== '/chains' ? { redirect: to.fullPath } : {} };
});
