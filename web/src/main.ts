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

document.documentElement.lang = i18n.global.locale.value;
createApp(App).use(i18n).use(router).use(ElementPlus).mount('#app');
