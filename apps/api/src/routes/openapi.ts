import { Router } from 'express';
import { openApiDocument } from '../openapi/document.js';

/** GET /openapi.json: the API described from its own request schemas, this server listed first. */
export function openApiRoutes(): Router {
  const router = Router();
  router.get('/openapi.json', (req, res) => {
    const doc = openApiDocument();
    const here = { url: `${req.protocol}://${req.get('host')}`, description: 'The server that answered this request' };
    res.json({ ...doc, servers: [here, ...(doc.servers as unknown[])] });
  });
  return router;
}
