// Vite build of the console into web/dist (served by the edge Worker as static assets with SPA fallback).
import vue from '@vitejs/plugin-vue';
import { defineConfig } from 'vite';

export default defineConfig({
  plugins: [vue()],
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    // Element Plus is one large chunk by design; routes are lazy so ECharts loads only with the monitor.
    chunkSizeWarningLimit: 1500,
  },
  server: {
    // `npm run dev -w web` against `npm start` on :8787.
    proxy: { '/api': 'http://127.0.0.1:8787' },
  },
});
