import { defineConfig } from 'vite';

// The two service workers, each one classic script (a module service worker
// is not everywhere yet): `SW=map` → dist/sw.js, `SW=melden` → dist/melden/sw.js.
const which = process.env.SW === 'melden' ? 'melden' : 'map';
export default defineConfig({
  define: { __BUILD__: JSON.stringify(Date.now().toString(36)) },
  build: {
    outDir: which === 'melden' ? 'dist/melden' : 'dist',
    emptyOutDir: false,
    target: 'es2022',
    copyPublicDir: false,
    lib: { entry: which === 'melden' ? 'src/melden/sw.ts' : 'src/sw/map.ts', formats: ['iife'], name: 'kvo_sw', fileName: () => 'sw.js' },
  },
});
