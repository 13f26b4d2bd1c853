import { expectShape, modelKind } from '../args.js';
import { print, type Command } from '../context.js';

/** pin KIND NAME / unpin KIND NAME */
function pinning(pin: boolean): Command {
  return async (ctx) => {
    expectShape(ctx.args, [], ['KIND', 'NAME']);
    const kind = modelKind(ctx.args.positionals[0]!);
    const name = ctx.args.positionals[1]!;
    const model = pin ? await ctx.client.pin(kind, name) : await ctx.client.unpin(kind, name);
    print(ctx, model, () => `${pin ? 'pinned' : 'unpinned'}  ${kind}/${name}`);
    return 0;
  };
}

export const pinCommand = pinning(true);
export const unpinCommand = pinning(false);
