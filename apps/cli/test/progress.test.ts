import { afterEach, describe, expect, it, vi } from 'vitest';
import type { JobView } from '@model-manager/client';
import { ProgressView } from '../src/progress.js';

const MiB = 1024 * 1024;
const completed = (jobId: string, name: string, size: number): JobView => ({
  jobId,
  kind: 'lora',
  name,
  status: 'completed',
  progress: { bytes: size, totalBytes: size },
  attempts: 1,
  model: {
    kind: 'lora',
    name,
    path: `/m/loras/${name}.safetensors`,
    url: 'http://o/x',
    sha256: 'a'.repeat(64),
    fileSize: size,
    downloadedAt: 't',
    lastUsed: 't',
    usageCount: 0,
    pinned: false,
  },
});

function capture(isTTY: boolean) {
  const chunks: string[] = [];
  return { chunks, out: { isTTY, columns: 120, write: (text: string) => chunks.push(text) } };
}

describe('progress lines', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('without a terminal: a line when a file starts moving, then at most one per interval, and one at the end', () => {
    vi.useFakeTimers({ now: 0, toFake: ['Date'] });
    const { chunks, out } = capture(false);
    const view = new ProgressView(out);
    view.add('1', 'lora/a');
    view.update({ jobId: '1', kind: 'lora', name: 'a', bytes: 1 * MiB, totalBytes: 4 * MiB, bytesPerSec: MiB });
    vi.setSystemTime(1000);
    view.update({ jobId: '1', kind: 'lora', name: 'a', bytes: 2 * MiB, totalBytes: 4 * MiB, bytesPerSec: MiB });
    vi.setSystemTime(3500);
    view.update({ jobId: '1', kind: 'lora', name: 'a', bytes: 3 * MiB, totalBytes: 4 * MiB, bytesPerSec: MiB });
    vi.setSystemTime(4000);
    view.settle(completed('1', 'a', 4 * MiB));
    view.finish();
    expect(chunks.join('')).toBe(
      [
        'lora/a  1.0 MiB / 4.0 MiB  25%  1.0 MiB/s  ETA 3s',
        'lora/a  3.0 MiB / 4.0 MiB  75%  1.0 MiB/s  ETA 1s',
        'lora/a  done  4.0 MiB in 4s',
        '',
      ].join('\n'),
    );
  });

  it('on a terminal: live bars redrawn in place, each finished file written once above them', () => {
    vi.useFakeTimers({ now: 0, toFake: ['Date'] });
    const { chunks, out } = capture(true);
    const view = new ProgressView(out);
    view.add('1', 'lora/a');
    view.add('2', 'lora/bb');
    view.update({ jobId: '1', kind: 'lora', name: 'a', bytes: 2 * MiB, totalBytes: 4 * MiB, bytesPerSec: 2 * MiB });
    vi.setSystemTime(1000);
    view.settle({
      ...completed('2', 'bb', 0),
      status: 'failed',
      model: undefined,
      error: { code: 'HASH_MISMATCH', message: 'sha256 is b, expected a' },
    });
    vi.setSystemTime(2000);
    view.settle(completed('1', 'a', 4 * MiB));
    view.finish();
    const running = 'lora/a  [############------------] 2.0 MiB / 4.0 MiB  50%  2.0 MiB/s  ETA 1s\n';
    expect(chunks).toEqual([
      `${running}lora/bb [------------------------] queued\n`,
      // Up over both bars, clear, the failure for good, then the bar still running.
      `\x1b[2A\r\x1b[Jlora/bb [------------------------] failed  HASH_MISMATCH: sha256 is b, expected a\n${running}`,
      '\x1b[1A\r\x1b[Jlora/a  [########################] done  4.0 MiB in 2s\n',
    ]);
  });

  it('on a small terminal: only as many live bars as fit, and how many more wait', () => {
    const { chunks, out } = capture(true);
    const view = new ProgressView({ ...out, rows: 7 });
    for (const id of ['1', '2', '3', '4', '5']) view.add(id, `lora/m${id}`);
    view.update({ jobId: '4', kind: 'lora', name: 'm4', bytes: 1024, totalBytes: null, bytesPerSec: null });
    expect(chunks[0]!.split('\n')).toEqual([
      'lora/m4 [------------------------] 1.0 KiB',
      'lora/m1 [------------------------] queued',
      'lora/m2 [------------------------] queued',
      '… 2 more',
      '',
    ]);
  });
});
