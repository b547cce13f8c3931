import { defineConfig } from 'vite'
import vue from '@vitejs/plugin-vue'

// The console's pages are served by the BFF (console/web.py) from dist/.
export default defineConfig({
  plugins: [vue()],
  build: { outDir: 'dist', emptyOutDir: true, chunkSizeWarningLimit: 1500 },
  server: { proxy: { '/api': 'http://127.0.0.1:8000', '/auth': 'http://127.0.0.1:8000' } },
})
