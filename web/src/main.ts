// Console entry: Vue app with Element Plus, vue-i18n and the router; 401 from the API goes back to login.
import ElementPlus from 'element-plus';
import 'element-plus/dist/index.css';
import { createApp } from 'vue';
import App from './App.vue';
import { setUnauthorizedHandler } from './api/client.ts';
import { i18n } from './i18n/index.ts';
import { router } from './router.ts';
import { session } from './session.ts';
import './style.css';

setUnauthorizedHandler(() => {
  session.user = null;
  if (router.currentRoute.value.name !== 'login') void router.push({ name: 'login' });
});

/**
 * A view's chunk or CSS that fails to load (assets replaced by a deploy, a connection dropped mid-fetch) leaves a blank
 * view with nothing to click. Vite's documented remedy: reload the page; at most once a minute, so that a lasting
 * failure shows its error instead of looping.
 */
window.addEventListener('vite:preloadError', (event) => {
  const key = 'rg_preload_reload_at';
  const last = Number(sessionStorage.getItem(key) ?? 0);
  if (Date.now() - last < 60_000) return;
  sessionStorage.setItem(key, String(Date.now()));
  event.preventDefault();
  window.location.reload();
});

document.documentElement.lang = i18n.global.locale.value;
createApp(App).use(i18n).use(router).use(ElementPlus).mount('#app');
