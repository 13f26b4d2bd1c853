import { Router } from 'express';
import { checkWritable } from '@model-manager/registry';
import type { ServiceContext } from '../context.js';

/** Liveness and readiness: readyz needs Redis answering and MODELS_DIR writable. */
export function healthRoutes(ctx: ServiceContext): Router {
  const router = Router();
  router.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  router.get('/readyz', async (_req, res) => {
    const problems: string[] = [];
    // Cleared once Redis answers: probes come every few seconds, each would leave a timer behind.
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        ctx.redis.ping(),
        new Promise((_, reject) => {
          timer = setTimeout(() => reject(new Error('no answer within 1 s')), 1000);
        }),
      ]);
    } catch (err) {
      problems.push(
        `redis at ${ctx.config.REDIS_URL.replace(/\/\/[^@]*@/, '//***@')} is not answering: ${(err as Error).message}`,
      );
    } finally {
      clearTimeout(timer);
    }
    try {
      await checkWritable(ctx.config.modelsDir);
    } catch (err) {
      problems.push((err as Error).message);
    }
    if (problems.length === 0) res.json({ status: 'ready' });
    else res.status(503).json({ error: { code: 'NOT_READY', message: problems.join('; '), details: problems } });
  });
  return router;
}
