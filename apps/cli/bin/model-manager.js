#!/usr/bin/env node
// Checked in, unlike dist/: npm links a workspace's bin only when the file exists at install time,
// so `npm install` on a fresh checkout makes `npx model-manager` work before the first build.
try {
  await import('../dist/main.js');
} catch (err) {
  if (err?.code !== 'ERR_MODULE_NOT_FOUND' || !String(err.message).includes('dist/main.js')) throw err;
  process.stderr.write('model-manager: not built yet; run `npm run build` at the repository root first\n');
  process.exitCode = 1;
}
