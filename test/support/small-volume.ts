import { execFileSync } from 'node:child_process';
import { tempModelsDir } from './service.js';

/**
 * A real small disk: a size-limited tmpfs mounted on a temp folder (needs root, as on CI).
 * `mount()` says whether it worked; where it did not, the caller falls back to another way.
 */
export function smallVolume(sizeMiB = 8) {
  const folder = tempModelsDir();
  let mounted = false;
  return {
    dir: folder.dir,
    get mounted() {
      return mounted;
    },
    mount(): boolean {
      try {
        execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${sizeMiB}m`, 'tmpfs', folder.dir], { stdio: 'ignore' });
        mounted = true;
      } catch {
        mounted = false;
      }
      return mounted;
    },
    remove(): void {
      if (mounted) execFileSync('umount', [folder.dir]);
      folder.remove();
    },
  };
}
