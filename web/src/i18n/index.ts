// vue-i18n setup: zh-CN by default, English on request; the choice is remembered in localStorage.
import { createI18n } from 'vue-i18n';
import en from './en.ts';
import zhCN from './zh-CN.ts';

export type Locale = 'zh-CN' | 'en';
const LOCALE_KEY = 'remotegpu.locale';
export const LOCALES: { value: Locale; label: string }[] = [
  { value: 'zh-CN', label: '简体中文' },
  { value: 'en', label: 'English' },
];

function savedLocale(): Locale {
  const v = typeof localStorage === 'undefined' ? null : localStorage.getItem(LOCALE_KEY);
  return v === 'en' ? 'en' : 'zh-CN';
}

export const i18n = createI18n({
  legacy: false,
  locale: savedLocale(),
  fallbackLocale: 'zh-CN',
  messages: { 'zh-CN': zhCN, en },
});

export function setLocale(locale: Locale): void {
  i18n.global.locale.value = locale;
  localStorage.setItem(LOCALE_KEY, locale);
  document.documentElement.lang = locale;
}
