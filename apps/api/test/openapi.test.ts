import type { Express } from 'express';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { createConfig, lintFromString } from '@redocly/openapi-core';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Validator } from '@seriousme/openapi-schema-validator';
import { documentedRoutes, openApiPath } from '@model-manager/api';
import { startInProcessApi, type InProcessApi } from '../../../test/support/in-process-api.js';

interface Layer {
  slash?: boolean;
  route?: { path: string; methods: Record<string, boolean> };
  handle: { stack?: Layer[] };
}

/** Every `METHOD /path` the app routes, read from express's own router (mounted apps such as Bull Board aside). */
function appRoutes(app: Express): string[] {
  const routes: string[] = [];
  const walk = (stack: Layer[]) => {
    for (const layer of stack) {
      if (layer.route)
        for (const method of Object.keys(layer.route.methods))
          routes.push(`${method.toUpperCase()} ${layer.route.path}`);
      else if (layer.slash && layer.handle.stack) walk(layer.handle.stack); // a Router used at the root
    }
  };
  walk((app as unknown as { router: { stack: Layer[] } }).router.stack);
  return routes;
}

describe('GET /openapi.json', () => {
  let api: InProcessApi;
  let app: Express;

  beforeAll(async () => {
    api = await startInProcessApi('openapi');
    app = api.app;
  });
  afterAll(() => api?.close());

  it('is a valid OpenAPI 3.1 document', async () => {
    const res = await request(app).get('/openapi.json');
    expect(res.status).toBe(200);
    expect(res.body.openapi).toBe('3.1.0');
    const validator = new Validator();
    const result = await validator.validate(res.body);
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
    expect(validator.version).toBe('3.1');
    // Request bodies are the zod schemas the routes validate with, refinements described.
    const modelRef = res.body.components.schemas.ModelRef;
    expect(modelRef.required).toEqual(['kind']);
    expect(modelRef.oneOf).toEqual([{ required: ['url'] }, { required: ['source'] }]);
    expect(modelRef.additionalProperties).toBe(false);
    expect(modelRef.properties.sha256.pattern).toBe('^[0-9a-fA-F]{64}$');
    // The name rules as the document states them: what a client validating with it accepts.
    const nameOk = new Ajv2020({ strict: false }).compile(modelRef.properties.name);
    for (const name of [
      'Hand Detail FLUX & XL',
      'Amateur style - slider (Pony)',
      "Pony's Eyes+ [SDXL]",
      '水彩画 Watercolor @ Style',
      'a..b',
    ]) {
      expect(nameOk(name), name).toBe(true);
    }
    for (const name of [
      '',
      '.hidden',
      '..',
      'a/b',
      'a\\b',
      'a\nb',
      'end ',
      'end.',
      '__proto__',
      'constructor',
      'x'.repeat(201),
    ]) {
      expect(nameOk(name), JSON.stringify(name)).toBe(false);
    }
  });

  it('documents exactly the routes the app has', async () => {
    const routes = appRoutes(app);
    expect(routes.length).toBeGreaterThan(10);
    expect([...documentedRoutes()].sort()).toEqual([...new Set(routes)].sort());
    const { body: doc } = await request(app).get('/openapi.json');
    const inDocument = Object.entries(doc.paths as Record<string, object>).flatMap(([p, ops]) =>
      Object.keys(ops).map((m) => `${m.toUpperCase()} ${p}`),
    );
    // Plus Bull Board's entry page, mounted as a router rather than routed.
    const expected = [
      ...routes.map((r) => r.replace(/ (.*)$/, (_, p: string) => ` ${openApiPath(p)}`)),
      'GET /admin/queues',
    ];
    expect(inDocument.sort()).toEqual(expected.sort());
  });

  it('has a route behind every documented path (none answers "no route")', async () => {
    const sample: Record<string, string> = { id: '424242', kind: 'lora', name: 'absent' };
    for (const route of documentedRoutes()) {
      const [method, path] = route.split(' ') as [string, string];
      const url = path.replace(/:(\w+)/g, (_, p: string) => sample[p]!);
      const res = await request(app)[method.toLowerCase() as 'get' | 'post' | 'delete'](url);
      if (res.status === 404) expect(res.body.error.message, route).not.toMatch(/^no route for/);
    }
  });

  it("passes Redocly's recommended lint with no errors", async () => {
    const { body: doc } = await request(app).get('/openapi.json');
    const config = await createConfig({ extends: ['recommended'] });
    const problems = await lintFromString({ source: JSON.stringify(doc), absoluteRef: '/openapi.json', config });
    const errors = problems
      .filter((p) => p.severity === 'error')
      .map((p) => `${p.ruleId}: ${p.message} at ${p.location[0]?.pointer}`);
    expect(errors).toEqual([]);
  });

  it('names every operation once, lists this server first, and references every schema it defines', async () => {
    const res = await request(app).get('/openapi.json').set('host', 'models.internal:8080');
    const doc = res.body as {
      servers: Array<{ url: string }>;
      paths: Record<string, Record<string, { operationId?: string }>>;
      components: { schemas: object };
    };
    const ids = Object.values(doc.paths).flatMap((ops) => Object.values(ops).map((op) => op.operationId));
    expect(ids.every((id) => typeof id === 'string')).toBe(true);
    expect(new Set(ids).size).toBe(ids.length);
    expect(doc.servers[0]!.url).toBe('http://models.internal:8080');
    const text = JSON.stringify(doc);
    for (const name of Object.keys(doc.components.schemas)) {
      expect(text.includes(`"#/components/schemas/${name}"`), `${name} is referenced`).toBe(true);
    }
  });
});
