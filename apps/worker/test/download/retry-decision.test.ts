import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  decideRetry,
  type AttemptFailure,
  type AttemptState,
  type RetryDecision,
} from '../../src/download/retry-decision.js';

// The retry decision as a table whose rows are the failure table (docs/failures.md, "When things
// go wrong"): each of its rows is either decided here (one or more cases) or named below with
// where it is handled.

const one: AttemptState = {
  sourceIndex: 0,
  sourceCount: 1,
  deadSources: [],
  progressed: false,
  attemptsLeft: true,
  canRequeue: true,
};
const withMirror: AttemptState = { ...one, sourceCount: 2 };
const f = (
  code: AttemptFailure['code'],
  retryable: boolean,
  httpKind?: AttemptFailure['httpKind'],
): AttemptFailure => ({ code, retryable, httpKind });
const resume: RetryDecision = { kind: 'retry', source: 0, fromScratch: false, deadSources: [] };
const nextMirror = (dead: number[] = []): RetryDecision => ({
  kind: 'retry',
  source: 1,
  fromScratch: true,
  deadSources: dead,
});
const fail = (why: Extract<RetryDecision, { kind: 'fail' }>['why']): RetryDecision => ({ kind: 'fail', why });

interface Case {
  when: string;
  failure: AttemptFailure;
  state: AttemptState;
  then: RetryDecision;
}

/** Failure-table row (the start of its first cell) → its cases; the first case is the row's plain one, which the table's "Retried?" column describes. */
const decided: Record<string, Case[]> = {
  'Connection reset mid-body': [
    {
      when: 'bytes arrived: resume them',
      failure: f('SIZE_MISMATCH', true),
      state: { ...withMirror, progressed: true },
      then: resume,
    },
    { when: 'no Content-Length', failure: f('NETWORK_ERROR', true), state: { ...one, progressed: true }, then: resume },
  ],
  'Connection refused, DNS or TLS failure': [
    { when: 'one source: the same again', failure: f('NETWORK_ERROR', true), state: one, then: resume },
    { when: 'a mirror: move on, from byte 0', failure: f('TIMEOUT', true), state: withMirror, then: nextMirror() },
    {
      when: 'on the mirror: wrap around to the url',
      failure: f('NETWORK_ERROR', true),
      state: { ...withMirror, sourceIndex: 1 },
      then: { kind: 'retry', source: 0, fromScratch: true, deadSources: [] },
    },
  ],
  'Stalled body': [
    {
      when: 'bytes arrived: resume them',
      failure: f('TIMEOUT', true),
      state: { ...withMirror, progressed: true },
      then: resume,
    },
  ],
  'Worker shut down': [
    {
      when: 'back to the queue',
      failure: f('SHUTDOWN', true),
      state: { ...one, attemptsLeft: false },
      then: { kind: 'requeue' },
    },
    {
      when: 'no job token: an ordinary retry',
      failure: f('SHUTDOWN', true),
      state: { ...one, canRequeue: false },
      then: resume,
    },
  ],
  '408, 425, 429, 500, 502, 503, 504': [
    { when: 'retried', failure: f('HTTP_ERROR', true), state: one, then: resume },
    {
      when: 'with a mirror, which is tried next',
      failure: f('HTTP_ERROR', true),
      state: withMirror,
      then: nextMirror(),
    },
  ],
  '401': [
    { when: 'not retried', failure: f('AUTH_REQUIRED', false), state: one, then: fail('no source left') },
    { when: 'the next mirror', failure: f('AUTH_REQUIRED', false), state: withMirror, then: nextMirror([0]) },
  ],
  '403 from the requested host': [
    { when: 'not retried', failure: f('FORBIDDEN', false), state: one, then: fail('no source left') },
    { when: 'the next mirror', failure: f('FORBIDDEN', false), state: withMirror, then: nextMirror([0]) },
  ],
  '403 from another host a redirect led to': [
    {
      when: 'the same URL again, even with a mirror',
      failure: f('HTTP_ERROR', true, 'EXPIRED_REDIRECT'),
      state: withMirror,
      then: resume,
    },
  ],
  '404 or 410, no mirror left': [
    { when: 'no mirror', failure: f('HTTP_ERROR', false, 'NOT_FOUND'), state: one, then: fail('no source left') },
    {
      when: 'the only mirror is dead already',
      failure: f('HTTP_ERROR', false, 'NOT_FOUND'),
      state: { ...withMirror, deadSources: [1] },
      then: fail('no source left'),
    },
  ],
  '404 or 410, with a mirror left': [
    {
      when: 'the next mirror, this source dead',
      failure: f('HTTP_ERROR', false, 'NOT_FOUND'),
      state: withMirror,
      then: nextMirror([0]),
    },
    {
      when: 'skipping a dead one, wrapping around',
      failure: f('HTTP_ERROR', false, 'NOT_FOUND'),
      state: { ...withMirror, sourceCount: 3, sourceIndex: 1, deadSources: [2] },
      then: { kind: 'retry', source: 0, fromScratch: true, deadSources: [1, 2] },
    },
  ],
  '400 and any other status': [
    { when: 'not retried', failure: f('HTTP_ERROR', false), state: one, then: fail('not retryable') },
    { when: 'not even with a mirror', failure: f('HTTP_ERROR', false), state: withMirror, then: fail('not retryable') },
  ],
  'An HTML page instead of a model': [
    { when: 'not retried', failure: f('NOT_A_MODEL', false), state: one, then: fail('no source left') },
    { when: 'the next mirror', failure: f('NOT_A_MODEL', false), state: withMirror, then: nextMirror([0]) },
  ],
  'A `.safetensors` file that is truncated': [
    {
      when: 'not retried',
      failure: f('NOT_A_MODEL', false),
      state: { ...one, progressed: true },
      then: fail('no source left'),
    },
    {
      when: 'the next mirror',
      failure: f('NOT_A_MODEL', false),
      state: { ...withMirror, progressed: true },
      then: nextMirror([0]),
    },
  ],
  "The file's size is not the one the host published": [
    { when: 'retried', failure: f('SIZE_MISMATCH', true), state: one, then: resume },
    {
      when: 'no bytes arrived, a mirror: the next mirror',
      failure: f('SIZE_MISMATCH', true),
      state: withMirror,
      then: nextMirror(),
    },
    {
      when: 'bytes arrived: resume them',
      failure: f('SIZE_MISMATCH', true),
      state: { ...withMirror, progressed: true },
      then: resume,
    },
  ],
  'A file larger than `MAX_MODEL_BYTES`': [
    {
      when: 'not retried, not even with a mirror',
      failure: f('TOO_LARGE', false),
      state: withMirror,
      then: fail('not retryable'),
    },
  ],
  'Body shorter or longer than its Content-Length': [
    { when: 'retried', failure: f('SIZE_MISMATCH', true), state: one, then: resume },
  ],
  'The complete file has another SHA-256': [
    {
      when: 'nothing resumed: not retried',
      failure: f('HASH_MISMATCH', false),
      state: one,
      then: fail('no source left'),
    },
    {
      when: 'after a resume: once more from byte 0',
      failure: f('HASH_MISMATCH', true),
      state: withMirror,
      then: { kind: 'retry', source: 0, fromScratch: true, deadSources: [] },
    },
    {
      when: 'nothing resumed, a mirror: the next mirror',
      failure: f('HASH_MISMATCH', false),
      state: withMirror,
      then: nextMirror([0]),
    },
  ],
  'Empty body': [{ when: 'retried', failure: f('EMPTY_FILE', true), state: one, then: resume }],
  'Not enough free space': [
    {
      when: 'not retried, not even with a mirror',
      failure: f('DISK_FULL', false),
      state: withMirror,
      then: fail('not retryable'),
    },
  ],
  '`ENOSPC` (or a quota, `EDQUOT`) while writing': [
    {
      when: 'not retried',
      failure: f('DISK_FULL', false),
      state: { ...one, progressed: true },
      then: fail('not retryable'),
    },
  ],
  'The registry cannot be written when publishing': [
    {
      when: 'WRITE_ERROR: the complete staged file is kept',
      failure: f('WRITE_ERROR', true),
      state: { ...withMirror, progressed: true },
      then: resume,
    },
    {
      when: 'DISK_FULL: not retried',
      failure: f('DISK_FULL', false),
      state: { ...one, progressed: true },
      then: fail('not retryable'),
    },
  ],
  "The worker lost the job's lock": [
    {
      when: 'hands off',
      failure: f('LOCK_LOST', true),
      state: { ...one, progressed: true },
      then: { kind: 'hands-off' },
    },
  ],
};

/** Failure-table rows that are not a decision of a failed attempt, and where they are handled and tested. */
const elsewhere: Record<string, string> = {
  'Worker killed':
    'no attempt fails: BullMQ hands the stalled job over; resume is tested in apps/worker/test/download/resume.test.ts and test/e2e/crash.test.ts',
  'On a resume, the ETag': 'no failure: downloadToFile starts over (apps/worker/test/download/resume.test.ts)',
  "The job's workers died more than 3 times": "BullMQ's stalled-job limit (test/e2e/crash.test.ts)",
  'Redis restarts or is unreachable': 'no failure (test/e2e/redis-outage.test.ts)',
  '`REQUIRE_VERIFIED` is on':
    'no attempt: the processor refuses the job before downloading (apps/worker/test/fetch-job/verification.test.ts)',
};

describe('the retry decision, row by row of the failure table', () => {
  const cases = Object.entries(decided).flatMap(([row, list]) => list.map((c) => ({ row, ...c })));
  it.each(cases)('$row — $when', ({ failure, state, then }) => {
    expect(decideRetry(failure, state)).toEqual(then);
  });

  it('fails a retryable failure on the last attempt', () => {
    expect(decideRetry(f('NETWORK_ERROR', true), { ...withMirror, attemptsLeft: false })).toEqual(
      fail('attempts used up'),
    );
    expect(decideRetry(f('SIZE_MISMATCH', true), { ...one, progressed: true, attemptsLeft: false })).toEqual(
      fail('attempts used up'),
    );
  });
});

describe('docs/failures.md and this table agree', () => {
  const readme = readFileSync(new URL('../../../../docs/failures.md', import.meta.url), 'utf8');
  const section = readme.slice(readme.indexOf('## When things go wrong'));
  const rows = section
    .slice(0, section.indexOf('\n\n', section.indexOf('| --- |')))
    .split('\n')
    .filter((line) => line.startsWith('| ') && !line.startsWith('| What happens') && !line.startsWith('| ---'))
    .map((line) => line.split(' | ').map((cell) => cell.replace(/^\| | \|$/g, '')));
  const keyOf = (first: string) =>
    [...Object.keys(decided), ...Object.keys(elsewhere)].filter((key) => first.startsWith(key));

  it('every row of docs/failures.md is in this table exactly once, and every row here is in docs/failures.md', () => {
    expect(rows.length).toBeGreaterThan(20);
    for (const [first] of rows) expect(keyOf(first!), first).toHaveLength(1);
    const matched = rows.flatMap(([first]) => keyOf(first!));
    expect(new Set(matched)).toEqual(new Set([...Object.keys(decided), ...Object.keys(elsewhere)]));
  });

  it('each decided row\'s plain case is what its "Retried?" column says', () => {
    for (const [first, , retried] of rows) {
      const [key] = keyOf(first!);
      const plain = decided[key!]?.[0];
      if (!plain) continue;
      const answer = (c: Case) => (decideRetry(c.failure, c.state).kind === 'fail' ? 'No' : 'Yes');
      const says = /^(Yes|No)\b/.exec(retried!)?.[1];
      if (!says) {
        // A column that answers per code: "`WRITE_ERROR`: yes (...); `DISK_FULL`: no".
        const perCode = new Map(
          [...retried!.matchAll(/`([A-Z_]+)`: (yes|no)\b/gi)].map((m) => [m[1], m[2]!.toLowerCase()]),
        );
        for (const c of decided[key!]!)
          expect(perCode.get(c.failure.code), `${first}: ${c.failure.code}`).toBe(answer(c).toLowerCase());
        continue;
      }
      expect(says, first).toBe(answer(plain));
      const mirrorCase = decided[key!]!.find(
        (c) => c.state.sourceCount > 1 && c.then.kind === 'retry' && c.then.source !== c.state.sourceIndex,
      );
      if (says === 'No')
        expect(/mirror/.test(retried!), `${first}: a mirror is tried, and docs/failures.md should say so`).toBe(
          !!mirrorCase,
        );
    }
  });
});
