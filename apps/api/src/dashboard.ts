import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { ExpressAdapter } from '@bull-board/express';
import type { Queue } from 'bullmq';
import { Router } from 'express';

export const DASHBOARD_PATH = '/admin/queues';

function board(queue: Queue, maintenanceQueue: Queue, readOnlyMode: boolean): Router {
  const serverAdapter = new ExpressAdapter();
  serverAdapter.setBasePath(DASHBOARD_PATH);
  createBullBoard({
    queues: [
      new BullMQAdapter(queue, { description: 'Model downloads onto the volume', readOnlyMode }),
      new BullMQAdapter(maintenanceQueue, { description: 'Cleanup, verify and scan runs', readOnlyMode }),
    ],
    serverAdapter,
    options: { uiConfig: { boardTitle: 'Model Manager' } },
  });
  return serverAdapter.getRouter() as Router;
}

/**
 * Bull Board for the model-fetch and model-maintenance queues. Someone signed in with a read-only
 * token gets the board in its read-only mode: no retry, clean, promote or remove buttons (the
 * API would refuse them anyway, since authenticate() lets read-only tokens only read).
 */
export function dashboardRouter(queue: Queue, maintenanceQueue: Queue): Router {
  const full = board(queue, maintenanceQueue, false);
  const readOnly = board(queue, maintenanceQueue, true);
  const router = Router();
  router.use((req, res, next) => (res.locals.access === 'read' ? readOnly : full)(req, res, next));
  return router;
}
