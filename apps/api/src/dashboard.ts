import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { ExpressAdapter } from '@bull-board/express';
import type { Queue } from 'bullmq';
import type { Router } from 'express';

export const DASHBOARD_PATH = '/admin/queues';

/** Bull Board for the model-fetch and model-maintenance queues. */
export function dashboardRouter(queue: Queue, maintenanceQueue: Queue): Router {
  const serverAdapter = new ExpressAdapter();
  serverAdapter.setBasePath(DASHBOARD_PATH);
  createBullBoard({
    queues: [
      new BullMQAdapter(queue, { description: 'Model downloads onto the volume' }),
      new BullMQAdapter(maintenanceQueue, { description: 'Cleanup, verify and scan runs' }),
    ],
    serverAdapter,
    options: { uiConfig: { boardTitle: 'Model Manager' } },
  });
  return serverAdapter.getRouter() as Router;
}
