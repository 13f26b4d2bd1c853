import { type FetchResult, JobFailedError, type Verification } from '@model-manager/client';
import { print, type Command } from '../context.js';
import { ProgressView } from '../progress.js';
import { summarize, unverifiedLines } from '../summary.js';
import { refText } from '../model-ref.js';
import { fetchRequest } from './fetch-args.js';

/** fetch KIND REF [--name NAME] | fetch KIND NAME URL, with [--sha256 H] [--mirror URL]... [--wait] */
export const fetchCommand: Command = async (ctx) => {
  const { args, client } = ctx;
  const ref = fetchRequest(args);
  const asked = ref.name ?? refText(ref);

  let answer: FetchResult;
  try {
    answer = await client.fetch(ref);
  } catch (err) {
    // Without waiting this is rare: the job existed already and had failed.
    if (!(err instanceof JobFailedError)) throw err;
    const failed = { status: 'failed' as const, jobId: err.jobId, error: err.error };
    print(ctx, failed, () => summarize([{ kind: ref.kind, name: asked, ...failed }]));
    return 1;
  }
  const verification: Verification = {
    verified: answer.verified,
    ...(answer.unverifiedReason === undefined ? {} : { unverifiedReason: answer.unverifiedReason }),
  };

  if (answer.status === 'cached' || answer.status === 'linked' || answer.status === 'completed') {
    const { model } = answer;
    print(ctx, answer, () =>
      summarize([{ kind: model.kind, name: model.name, status: answer.status, path: model.path, ...verification }]),
    );
    return 0;
  }

  const { jobId } = answer;
  // The answer names the model: the host's file name when the request gave none.
  const name = answer.name ?? asked;
  if (!args.values.wait) {
    print(ctx, answer, () =>
      [
        `${answer.status}  ${ref.kind}/${name}  job ${jobId} (follow it: model-manager status ${jobId})`,
        ...unverifiedLines([{ kind: ref.kind, name, status: answer.status, ...verification }]),
      ].join('\n'),
    );
    return 0;
  }

  const progress = new ProgressView(ctx.stderr);
  progress.add(jobId, `${ref.kind}/${name}`);
  const [job] = await client.waitFor([jobId], {
    onProgress: (p) => progress.update(p),
    onJobSettled: (j) => progress.settle(j),
  });
  progress.finish();
  const final =
    job!.status === 'completed'
      ? { status: 'completed' as const, jobId, model: job!.model, ...verification }
      : { status: 'failed' as const, jobId, error: job!.error, ...verification };
  print(ctx, final, () =>
    summarize([
      {
        kind: ref.kind,
        name: job!.name ?? name,
        status: final.status,
        jobId,
        path: job!.model?.path,
        error: job!.error,
        ...verification,
      },
    ]),
  );
  return final.status === 'completed' ? 0 : 1;
};
