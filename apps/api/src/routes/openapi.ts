import { Router } from 'express';
import { openApiDocument } from '../openapi.js';

/** GET /openapi.json: the API described from its own request schemas. */
export function openApiRoutes(): Router {
  const router = Router();
  router.get('/openapi.json', (_req, res) => {
    res.json(openApiDocument());
  });
  return router;
}
