import { defineConfig } from 'vite';

// Built into dist/, which the server serves at `/`: the map (index.html), the console (beheer/index.html), setting one's password (wachtwoord/index.html), the partners' work list (taken/index.html), the incident table (tabel/index.html), the region view (regio/index.html), the public view (openbaar/index.html),
// the reporting app (melden/index.html) and the rounds (rondes/index.html), sharing the API types, i18n and the
// DOM builder. Nothing is fetched from a CDN. The service workers are built
// by vite.sw.config.ts.
export default defineConfig({
  build: {
    outDir: 'dist', emptyOutDir: true, target: 'es2022', chunkSizeWarningLimit: 2000,
    rollupOptions: { input: { map: 'index.html', melden: 'melden/index.html', rondes: 'rondes/index.html', beheer: 'beheer/index.html', wachtwoord: 'wachtwoord/index.html', taken: 'taken/index.html', tabel: 'tabel/index.html', regio: 'regio/index.html', openbaar: 'openbaar/index.html' } },
  },
  worker: { format: 'es' },
});
