// Routes of the console; pages load lazily so the monitoring charts do not weigh on the first paint.
import { createRouter, createWebHistory, type RouteRecordRaw } from 'vue-router';
import { loadSession, session } from './session.ts';
import { loadTeams, teams } from './teams.ts';

const routes: RouteRecordRaw[] = [
  { path: '/login', name: 'login', component: () => import('./views/LoginView.vue'), meta: { public: true } },
  { path: '/', redirect: '/market' },
  { path: '/market', name: 'market', component: () => import('./views/MarketView.vue') },
  { path: '/environments', name: 'environments', component: () => import('./views/EnvironmentsView.vue') },
  {
    path: '/environments/:id',
    name: 'environment',
    component: () => import('./views/EnvironmentDetailView.vue'),
    props: true,
  },
  { path: '/ssh-keys', name: 'ssh-keys', component: () => import('./views/SshKeysView.vue') },
  { path: '/tokens', name: 'tokens', component: () => import('./views/TokensView.vue') },
  { path: '/usage', name: 'usage', component: () => import('./views/UsageView.vue') },
  { path: '/billing', name: 'billing', component: () => import('./views/BillingView.vue') },
  { path: '/webhooks', name: 'webhooks', component: () => import('./views/WebhooksView.vue') },
  { path: '/teams', name: 'teams', component: () => import('./views/TeamsView.vue') },
  { path: '/cli/approve', name: 'cli-approve', component: () => import('./views/CliApproveView.vue') },
  { path: '/audit', name: 'audit', component: () => import('./views/AuditView.vue') },
  {
    path: '/admin/hosts',
    name: 'admin-hosts',
    component: () => import('./views/admin/HostsView.vue'),
    meta: { admin: true },
  },
  {
    path: '/admin/fleet',
    name: 'admin-fleet',
    component: () => import('./views/admin/FleetView.vue'),
    meta: { admin: true },
  },
  {
    path: '/admin/machines',
    name: 'admin-machines',
    component: () => import('./views/admin/MachinesView.vue'),
    meta: { admin: true },
  },
  {
    path: '/admin/images',
    name: 'admin-images',
    component: () => import('./views/admin/ImagesView.vue'),
    meta: { admin: true },
  },
  {
    path: '/admin/users',
    name: 'admin-users',
    component: () => import('./views/admin/UsersView.vue'),
    meta: { admin: true },
  },
  { path: '/:pathMatch(.*)*', redirect: '/market' },
];

export const router = createRouter({ history: createWebHistory(), routes });

router.beforeEach(async (to) => {
  if (!session.checked) await loadSession().catch(() => null);
  if (to.meta.public) return session.user && to.name === 'login' ? { path: '/market' } : true;
  if (!session.user) return { name: 'login', query: to.fullPath === '/' ? {} : { next: to.fullPath } };
  // The teams before the first page (a remembered team that is gone is dropped before any request acts for it), then
  // again on each page: teams one was added to show up, one removed from is dropped.
  if (!teams.loaded) await loadTeams().catch(() => null);
  else void loadTeams().catch(() => null);
  if (to.meta.admin && session.user.role !== 'admin') return { path: '/market' };
  return true;
});
