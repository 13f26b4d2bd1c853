import { type FetchResult, JobFailedError, type ModelRefInput } from '@model-manager/client';
import { expectShape, modelKind } from '../args.js';
import { print, type Command } from '../context.js';
import { ProgressView } from '../progress.js';
import { summarize } from '../summary.js';

/** fetch KIND NAME URL [--sha256 H] [--mirror URL]... [--wait] */
export const fetchCommand: Command = async (ctx) => {
  const { args, client } = ctx;
  expectShape(args, ['sha256', 'mirror', 'wait'], ['KIND', 'NAME', 'URL']);
  const [kind, name, url] = args.positionals as [string, string, string];
  const ref: ModelRefInput = { kind: modelKind(kind), name, url };
  if (args.values.sha256 !== undefined) ref.sha256 = args.values.sha256;
  if (args.values.mirror) ref.mirrors = args.values.mirror;

  let answer: FetchResult;
  try {
    answer = await client.fetch(ref);
  } catch (err) {
    // Without waiting this is rare: the job existed already and had failed.
    if (!(err instanceof JobFailedError)) throw err;
    const failed = { status: 'failed' as const, jobId: err.jobId, error: err.error };
    print(ctx, failed, () => summarize([{ kind: ref.kind, name, ...failed }]));
    return 1;
  }

  if (answer.status === 'cached' || answer.status === 'completed' || !args.values.wait) {
    print(ctx, answer, () => {
      if (answer.status === 'cached' || answer.status === 'completed')
        return summarize([{ kind: ref.kind, name, status: answer.status, path: answer.model.path }]);
      return `${answer.status}  ${ref.kind}/${name}  job ${answer.jobId} (follow it: model-manager status ${answer.jobId})`;
    });
    return 0;
  }

  const progress = new ProgressView(ctx.stderr);
  progress.add(answer.jobId, `${ref.kind}/${name}`);
  const [job] = await client.waitFor([answer.jobId], {
    onProgress: (p) => progress.update(p),
    onJobSettled: (j) => progress.settle(j),
  });
  progress.finish();
  const final =
    job!.status === 'completed'
      ? { status: 'completed' as const, jobId: job!.jobId, model: job!.model }
      : { status: 'failed' as const, jobId: job!.jobId, error: job!.error };
  print(ctx, final, () =>
    summarize([
      { kind: ref.kind, name, status: final.status, jobId: final.jobId, path: job!.model?.path, error: job!.error },
    ]),
  );
  return final.status === 'completed' ? 0 : 1;
};
