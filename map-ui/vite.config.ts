import { defineConfig } from 'vite';

// Built into dist/, which the server serves at `/`. Nothing is fetched from a CDN.
export default defineConfig({
  build: { outDir: 'dist', emptyOutDir: true, target: 'es2022', chunkSizeWarningLimit: 2000 },
});
