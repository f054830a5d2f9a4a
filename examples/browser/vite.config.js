// Vite settings a page using relu-repair needs: module workers (the pool's worker imports glpk.js
// lazily, which needs code splitting), ES2022 (top-level await), and relu-repair/glpk.js served
// as they are (they locate their wasm files and worker next to themselves with import.meta.url).
export default {
  base: './',
  worker: { format: 'es' },
  build: { target: 'es2022' },
  optimizeDeps: { exclude: ['relu-repair', 'glpk.js'] },
};
