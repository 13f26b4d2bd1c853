import { describe, expect, it } from 'vitest';
import { openApiDocument } from '@model-manager/api';
import { ContractChecker, parseEvents } from '../support/contract.js';

const checker = new ContractChecker(openApiDocument() as never);
const json = (value: unknown) => Buffer.from(JSON.stringify(value));
const model = {
  kind: 'lora',
  name: 'x',
  path: '/m/loras/x.safetensors',
  url: 'https://h/x',
  sha256: 'a'.repeat(64),
  fileSize: 1,
  downloadedAt: 't',
  lastUsed: 't',
  usageCount: 0,
  pinned: false,
};

// The e2e suites' traffic passes through this checker: it must catch what the document does not allow.
describe('the contract checker', () => {
  it('accepts documented answers', () => {
    expect(checker.check('GET', '/v1/models/lora/x', 200, 'application/json; charset=utf-8', json(model))).toEqual([]);
    expect(
      checker.check(
        'GET',
        '/v1/models/lora/x',
        401,
        'application/json',
        json({ error: { code: 'UNAUTHORIZED', message: 'm' } }),
      ),
    ).toEqual([]);
    expect(
      checker.check(
        'PUT',
        '/v1/nothing',
        404,
        'application/json',
        json({ error: { code: 'NOT_FOUND', message: 'no route' } }),
      ),
    ).toEqual([]);
  });

  it('refuses an undocumented status, field, media type or route', () => {
    expect(checker.check('GET', '/v1/models/lora/x', 418, 'application/json', json(model))[0]).toMatch(
      /status not documented/,
    );
    expect(checker.check('GET', '/v1/models/lora/x', 200, 'application/json', json({ ...model, extra: 1 }))[0]).toMatch(
      /does not match/,
    );
    expect(checker.check('GET', '/v1/models/lora/x', 200, 'text/html', Buffer.from('<p>')).at(0)).toMatch(
      /content type text\/html/,
    );
    expect(checker.check('PUT', '/v1/models/lora/x', 200, 'application/json', json(model))[0]).toMatch(
      /no documented operation/,
    );
  });

  it('checks each event of a stream', () => {
    const stream =
      'event: progress\ndata: {"jobId":"1","bytes":1,"totalBytes":2,"bytesPerSec":3}\n\n: keep-alive\n\nevent: progress\ndata: {"jobId":"1"}\n\n';
    expect(parseEvents(stream)).toHaveLength(2);
    const problems = checker.check('GET', '/v1/jobs/1/events', 200, 'text/event-stream', Buffer.from(stream));
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/event progress/);
  });
});
