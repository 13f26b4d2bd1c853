import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';

type Doc = {
  paths: Record<string, Record<string, { responses: Record<string, unknown> }>>;
  components: Record<string, Record<string, unknown>>;
};
type Response = { description?: string; content?: Record<string, { schema: unknown }>; $ref?: string };

/** Paths the API leaves to Bull Board, whose pages and JSON calls are its own. */
const MOUNTED = /^\/admin\/queues\/(?!login$)/;

/**
 * Checks answers against the OpenAPI document: the route and method are documented, the status is
 * one the operation lists, the media type is one it lists, and a JSON body (or each event of a
 * stream) matches its schema. Returns what does not hold, as readable lines.
 */
export class ContractChecker {
  private readonly ajv = new Ajv2020({ strict: false, allErrors: true, validateFormats: false });
  private readonly compiled = new Map<string, ValidateFunction>();
  private readonly routes: Array<{ re: RegExp; template: string }>;

  constructor(private readonly doc: Doc) {
    this.ajv.addSchema({ $id: 'doc', components: doc.components });
    this.routes = Object.keys(doc.paths).map((template) => ({
      template,
      re: new RegExp(`^${template.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\{\w+\}/g, '[^/]+')}$`),
    }));
  }

  /** The operation's documented answer for this status, or why there is none. */
  check(method: string, rawPath: string, status: number, contentType: string | undefined, body: Buffer): string[] {
    const path = rawPath.split('?')[0]!;
    const where = `${method} ${path} -> ${status}`;
    if (MOUNTED.test(path)) return [];
    const route = this.routes.find((r) => r.re.test(path));
    const operation = route && this.doc.paths[route.template]![method.toLowerCase()];
    if (!operation) {
      // No such route: the error handler's 404 in the error shape, the one answer allowed.
      return status === 404
        ? this.validate('Error', JSON.parse(body.toString() || 'null'), where)
        : [`${where}: no documented operation`];
    }
    const response = this.resolve(operation.responses[String(status)] as Response | undefined);
    if (!response) return [`${where}: status not documented for ${method} ${route.template}`];
    if (!response.content) return [];
    const type = (contentType ?? '').split(';')[0]!.trim();
    const media = response.content[type];
    if (!media)
      return [
        `${where}: content type ${type || '(none)'} not documented (${Object.keys(response.content).join(', ')})`,
      ];
    if (type === 'application/json') return this.validateSchema(media.schema, JSON.parse(body.toString()), where);
    if (type === 'text/event-stream')
      return parseEvents(body.toString()).flatMap((event) =>
        this.validateSchema(media.schema, event, `${where} event ${event.event}`),
      );
    return [];
  }

  private resolve(response: Response | undefined): Response | undefined {
    const ref = response?.$ref?.replace('#/components/responses/', '');
    return ref ? (this.doc.components.responses![ref] as Response) : response;
  }

  private validate(component: string, value: unknown, where: string): string[] {
    return this.validateSchema({ $ref: `#/components/schemas/${component}` }, value, where);
  }

  private validateSchema(schema: unknown, value: unknown, where: string): string[] {
    const key = JSON.stringify(schema);
    let validate = this.compiled.get(key);
    if (!validate) {
      validate = this.ajv.compile(JSON.parse(key.replaceAll('"#/components/', '"doc#/components/')));
      this.compiled.set(key, validate);
    }
    if (validate(value)) return [];
    const errors = (validate.errors ?? []).slice(0, 4).map((e) => `${e.instancePath || '/'} ${e.message}`);
    return [
      `${where}: body does not match the document: ${errors.join('; ')}; body ${JSON.stringify(value).slice(0, 300)}`,
    ];
  }
}

/** The complete events of a Server-Sent Events body as `{event, data}` (data parsed as JSON). */
export function parseEvents(text: string): Array<{ event: string; data: unknown }> {
  const blocks = text.split(/\r?\n\r?\n/).slice(0, -1); // the last piece is unfinished (or empty)
  return blocks.flatMap((block) => {
    const lines = block.split(/\r?\n/).filter((l) => !l.startsWith(':'));
    const event =
      lines
        .find((l) => l.startsWith('event:'))
        ?.slice(6)
        .trim() ?? 'message';
    const data = lines
      .filter((l) => l.startsWith('data:'))
      .map((l) => l.slice(5).trimStart())
      .join('\n');
    return lines.length === 0 ? [] : [{ event, data: data ? JSON.parse(data) : null }];
  });
}
