/**
 * Set by `npm start` on the processes it runs: their stdin is a pipe from it. When the start
 * script dies, even by SIGKILL, the kernel closes the pipe and the process stops as on SIGTERM,
 * instead of living on holding the port (a later `npm start` would find it taken).
 */
export const PARENT_PIPE_ENV = 'MODEL_MANAGER_STDIN_IS_PARENT';

export function stopWhenParentExits(stop: (reason: string) => void): void {
  if (process.env[PARENT_PIPE_ENV] !== '1') return;
  const stdin = process.stdin;
  stdin.on('data', () => {}); // nothing is sent: reading only notices the end
  stdin.once('end', () => stop('parent exited'));
  stdin.once('error', () => stop('parent exited'));
  // The pipe alone never keeps the process alive; the server or worker does.
  (stdin as unknown as { unref?: () => void }).unref?.();
}
