import express, { type Express } from 'express';
import type { ServiceContext } from './context.js';
import { DASHBOARD_PATH, dashboardRouter } from './dashboard.js';
import { errorHandler, requireJsonBody, unknownRoute } from './http/api-error.js';
import { authenticate, dashboardLogin } from './http/auth.js';
import { AuthFailures, rateLimit } from './http/rate-limit.js';
import { requestContext } from './http/request-context.js';
import { batchRoutes } from './routes/batches.js';
import { cleanupRoutes } from './routes/cleanup.js';
import { eventRoutes } from './routes/events.js';
import { fetchRoutes } from './routes/fetch.js';
import { healthRoutes } from './routes/health.js';
import { jobRoutes } from './routes/jobs.js';
import { leaseRoutes } from './routes/leases.js';
import { metricsRoutes } from './routes/metrics.js';
import { modelRoutes } from './routes/models.js';
import { openApiRoutes } from './routes/openapi.js';
import { prepareRoutes } from './routes/prepare.js';
import { statsRoutes } from './routes/stats.js';
import { verifyScanRoutes } from './routes/verify-scan.js';

/** The producer API as an express app; `main.ts` is what listens. */
export function createApp(ctx: ServiceContext): Express {
  const app = express();
  app.disable('x-powered-by');
  // Answers are fresh JSON, mostly to POSTs: an ETag would cost a SHA-1 of every body for nothing.
  app.set('etag', false);
  app.set('trust proxy', ctx.config.TRUST_PROXY);
  app.set('query parser', 'simple');
  app.use(requestContext(ctx.logger));
  // Before any body is read: a caller without a token costs a header check, not a JSON parse.
  const authFailures = new AuthFailures(ctx.config, ctx.redis, ctx.logger);
  app.use(authFailures.gate());
  app.use(dashboardLogin(ctx.config, DASHBOARD_PATH, authFailures.record));
  app.use(authenticate(ctx.config, DASHBOARD_PATH, authFailures.record));
  app.use(rateLimit(ctx.config, ctx.redis, ctx.logger));
  app.use(express.json({ limit: '1mb', strict: true }));
  app.use('/v1', requireJsonBody);
  app.use(healthRoutes(ctx));
  app.use(fetchRoutes(ctx));
  app.use(batchRoutes(ctx));
  app.use(jobRoutes(ctx));
  app.use(prepareRoutes(ctx));
  app.use(modelRoutes(ctx));
  app.use(statsRoutes(ctx));
  app.use(cleanupRoutes(ctx));
  app.use(leaseRoutes(ctx));
  app.use(verifyScanRoutes(ctx));
  app.use(eventRoutes(ctx));
  app.use(metricsRoutes(ctx));
  app.use(openApiRoutes());
  app.use(DASHBOARD_PATH, dashboardRouter(ctx.queue, ctx.maintenanceQueue));
  app.use(unknownRoute);
  app.use(errorHandler);
  return app;
}
