import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestOrigin } from '../support/origin.js';
import { call, startService, type Service } from '../support/service.js';

const here = path.dirname(fileURLToPath(import.meta.url));
/** Where the screenshots go (kept after the run; docs/images/dashboard-*.png are copies of two). */
const outputDir = path.resolve(here, '..', 'output', 'dashboard');

/** The system's Chromium (Debian's `chromium` package; .ci/run installs it when missing). */
function chromiumPath(): string {
  const candidates = [
    process.env.CHROMIUM_PATH,
    '/usr/bin/chromium',
    '/usr/bin/chromium-browser',
    '/usr/bin/google-chrome',
  ];
  const found = candidates.find((c): c is string => !!c && existsSync(c));
  if (!found)
    throw new Error(
      'no Chromium found: install it (apt-get install chromium) or set CHROMIUM_PATH; .ci/run installs it',
    );
  return found;
}

describe('the dashboard in a real browser', () => {
  const origin = new TestOrigin();
  let svc: Service;
  let browser: Browser;

  beforeAll(async () => {
    mkdirSync(outputDir, { recursive: true });
    await origin.start();
    svc = await startService('dashboard', { WORKER_CONCURRENCY: '1' });
    browser = await chromium.launch({
      executablePath: chromiumPath(),
      args: ['--no-sandbox', '--disable-dev-shm-usage'],
    });
  });
  afterAll(async () => {
    await browser?.close();
    await svc?.stop();
    await origin.close();
  });

  it('shows both queues and a completed fetch job with its data, return value and log lines', async () => {
    const file = origin.addFile('board.safetensors', 200_000);
    const fetched = await call(svc.apiUrl, 'POST', '/v1/fetch?wait=30', {
      kind: 'lora',
      name: 'board-lora',
      url: `${origin.url}/files/board.safetensors`,
      sha256: file.sha256,
    });
    expect(fetched.body.status).toBe('completed');

    const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    // Tests never talk to a public host: the dashboard's web-font link is refused, not fetched.
    await page.route(
      (url) => url.hostname !== '127.0.0.1' && url.hostname !== 'localhost',
      (route) => route.abort(),
    );
    await page.goto(`${svc.apiUrl}/admin/queues`);
    await page.getByText('model-fetch', { exact: true }).first().waitFor();
    await page.getByText('model-maintenance', { exact: true }).first().waitFor();
    await page.screenshot({ path: path.join(outputDir, 'overview.png') });
    // The daily cleanup is a BullMQ job scheduler on the maintenance queue.
    await page.getByText('Schedulers', { exact: true }).first().click();
    await page.getByText('cleanup-schedule').first().waitFor();
    await page.screenshot({ path: path.join(outputDir, 'schedulers.png') });

    await page.goto(`${svc.apiUrl}/admin/queues/queue/model-fetch?status=completed`);
    // The job card: its data (what was asked) and return value (where the file is).
    await page.getByText('board-lora').first().waitFor();
    await page.getByText(fetched.body.model.path).first().waitFor();
    // Its log lines, written by the worker with job.log().
    await page.getByText('Logs', { exact: true }).first().click();
    const logs = page.locator('[class*="jobLogs"]').first();
    await logs
      .getByText(/verified/)
      .first()
      .waitFor();
    expect(await logs.textContent()).toContain(file.sha256);
    await page.screenshot({ path: path.join(outputDir, 'job-logs.png') });
    await page.close();
  });
});

describe('the dashboard for a read-only token', () => {
  const fullToken = 'full-token-0123456789abcdef';
  const readToken = 'read-token-0123456789abcdef';
  const origin = new TestOrigin();
  let svc: Service;
  let browser: Browser;

  beforeAll(async () => {
    await origin.start();
    svc = await startService('dashboard-ro', {
      WORKER_CONCURRENCY: '1',
      API_TOKEN: fullToken,
      API_TOKENS_READONLY: readToken,
      DOWNLOAD_ATTEMPTS: '1',
    });
    browser = await chromium.launch({
      executablePath: chromiumPath(),
      args: ['--no-sandbox', '--disable-dev-shm-usage'],
    });
  });
  afterAll(async () => {
    await browser?.close();
    await svc?.stop();
    await origin.close();
  });

  /** The failed-jobs page of the model-fetch queue, as someone signed in with `token` sees it. */
  async function failedJobsAs(token: string) {
    const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    await page.route(
      (url) => url.hostname !== '127.0.0.1' && url.hostname !== 'localhost',
      (route) => route.abort(),
    );
    await page.goto(`${svc.apiUrl}/admin/queues/login`);
    await page.getByLabel('Token').fill(token);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(`${svc.apiUrl}/admin/queues`);
    await page.goto(`${svc.apiUrl}/admin/queues/queue/model-fetch?status=failed`);
    await page.getByText('gone-lora').first().waitFor();
    return page;
  }

  it('shows Bull Board without its retry buttons, which a full token still gets', async () => {
    const failed = await fetch(`${svc.apiUrl}/v1/fetch?wait=30`, {
      method: 'POST',
      headers: { authorization: `Bearer ${fullToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ kind: 'lora', name: 'gone-lora', url: `${origin.url}/status/404` }),
    });
    expect(failed.status).toBe(502);

    const asReader = await failedJobsAs(readToken);
    await asReader.screenshot({ path: path.join(outputDir, 'read-only.png') });
    expect(await asReader.getByRole('button', { name: /retry/i }).count()).toBe(0);
    await asReader.close();

    const asAdmin = await failedJobsAs(fullToken);
    expect(await asAdmin.getByRole('button', { name: /retry/i }).count()).toBeGreaterThan(0);
    await asAdmin.close();

    // What the board's own API tells its page, per token.
    for (const [token, readOnly] of [
      [readToken, true],
      [fullToken, false],
    ] as const) {
      const queues = (await (
        await fetch(`${svc.apiUrl}/admin/queues/api/queues`, { headers: { authorization: `Bearer ${token}` } })
      ).json()) as { queues: Array<{ readOnlyMode: boolean }> };
      expect(queues.queues.map((q) => q.readOnlyMode)).toEqual([readOnly, readOnly]);
    }
  });
});
