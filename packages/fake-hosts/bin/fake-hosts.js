#!/usr/bin/env node
// Checked in, unlike dist/: npm links a workspace's bin only when the file exists at install time.
try {
  await import('../dist/main.js');
} catch (err) {
  if (err?.code !== 'ERR_MODULE_NOT_FOUND' || !String(err.message).includes('dist/main.js')) throw err;
  process.stderr.write('fake-hosts: not built yet; run `npm run fake-hosts` at the repository root\n');
  process.exitCode = 1;
}
