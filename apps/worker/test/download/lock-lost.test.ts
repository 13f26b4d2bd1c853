import { readFileSync } from 'node:fs';
import { Agent, type Dispatcher } from 'undici';
import { describe, expect, it } from 'vitest';
import { ModelFetchError } from '@model-manager/core';
import { downloadToFile } from '../../src/download/download-to-file.js';
import { downloadSetup, failureOf, SEGMENTED, SEGMENTED_SIZE } from '../support/download-setup.js';

// A worker that loses the job's lock mid-download must leave the staging file to its new owner.
const NAME = 'locked.safetensors';
const setup = downloadSetup(NAME, SEGMENTED_SIZE);
const { origin } = setup;

/** An agent that counts the requests it sends. */
class CountingAgent extends Agent {
  sent = 0;
  override dispatch(options: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler): boolean {
    this.sent += 1;
    return super.dispatch(options, handler);
  }
}

describe('after LOCK_LOST the segmented download stops where it is', () => {
  it('opens no new range request and writes no more metadata', async () => {
    const staging = setup.staging();
    const agent = new CountingAgent();
    let checks = 0;
    let lost: { sent: number; meta: string } | undefined;
    const { req } = setup.request(`${origin.url}/slow/${NAME}?ms=10&chunk=262144&n=lock`, staging, {
      ...SEGMENTED,
      dispatcher: agent,
      assertMayWrite: () => {
        if (++checks < 4) return;
        lost ??= { sent: agent.sent, meta: readFileSync(staging.metaPath, 'utf8') };
        throw new ModelFetchError('LOCK_LOST', 'stopped writing: the job lock passed to another worker', {
          retryable: true,
        });
      },
    });
    try {
      expect(await failureOf(downloadToFile(req))).toMatchObject({ code: 'LOCK_LOST' });
      expect(agent.sent).toBe(lost!.sent);
      expect(readFileSync(staging.metaPath, 'utf8')).toBe(lost!.meta);
    } finally {
      await agent.destroy();
    }
  });
});
