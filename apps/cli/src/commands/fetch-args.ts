import type { ModelRefInput } from '@model-manager/client';
import { expectShape, modelKind, type ParsedArgs } from '../args.js';
import { modelRef, REF_FORMS, urlOrSource } from '../model-ref.js';
import { UsageError } from '../usage.js';

/**
 * `fetch KIND REF [--name NAME]`, or the older `fetch KIND NAME URL` (whose third argument may be
 * a reference too), with `--sha256` and `--mirror`: the request to send.
 */
export function fetchRequest(args: ParsedArgs): ModelRefInput {
  expectShape(args, ['name', 'sha256', 'mirror', 'wait'], ['KIND', 'REF'], ['URL']);
  const kind = modelKind(args.positionals[0]!);
  let ref: ModelRefInput;
  if (args.positionals.length === 3) {
    const [, name, given] = args.positionals as [string, string, string];
    if (args.values.name !== undefined) throw new UsageError('fetch: the name is given twice (NAME and --name)');
    // Not a reference: sent as the URL, for the API to say what is wrong with it.
    ref = modelRef(kind, urlOrSource(given) ?? { url: given }, name);
  } else {
    const given = args.positionals[1]!;
    const where = urlOrSource(given);
    if (!where) {
      throw new UsageError(
        `fetch: missing URL or reference: ${JSON.stringify(given)} is neither (REF is ${REF_FORMS}; or fetch KIND NAME URL)`,
      );
    }
    ref = modelRef(kind, where, args.values.name);
  }
  if (args.values.sha256 !== undefined) ref.sha256 = args.values.sha256;
  if (args.values.mirror) ref.mirrors = args.values.mirror;
  return ref;
}
