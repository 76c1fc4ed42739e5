import type Router from '@koa/router';
import { z } from 'zod';

/**
 * Checks that the OpenAPI document tells the truth: the routes the app registers are the ones it
 * documents, and real responses match the documented status codes and schemas. The schemas are read
 * back from the document's JSON (not taken from the zod schemas it was made from), so a wrong document
 * fails here. Used by the signaling tests; the end-to-end tests can use it the same way.
 */

type Json = Record<string, unknown>;
export interface Operation {
  method: string;
  path: string;
}

const METHODS = ['get', 'put', 'post', 'delete', 'patch', 'head', 'options'];

/** `/api/recordings/:id` → `/api/recordings/{id}` */
export function toOpenApiPath(koaPath: string): string {
  return koaPath.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
}

/** Every method and path the router answers. HEAD, which the router adds to each GET, counts only where documented. */
export function registeredOperations(router: Router): Operation[] {
  const out: Operation[] = [];
  for (const layer of router.stack) {
    if (typeof layer.path !== 'string' || layer.methods.length === 0) continue;
    const path = toOpenApiPath(layer.path);
    for (const method of layer.methods) out.push({ method: method.toLowerCase(), path });
  }
  return out;
}

export function documentedOperations(doc: Json): Operation[] {
  const out: Operation[] = [];
  for (const [path, item] of Object.entries(doc.paths as Record<string, Json>)) {
    for (const method of METHODS) if (item[method]) out.push({ method, path });
  }
  return out;
}

/** The documented path template a concrete URL path belongs to, e.g. /api/recordings/rec_1 → /api/recordings/{id}. */
export function matchPath(doc: Json, urlPath: string): string | undefined {
  for (const template of Object.keys(doc.paths as Json)) {
    const pattern = new RegExp(`^${template.replace(/\{[^}]+\}/g, '[^/]+')}$`);
    if (pattern.test(urlPath)) return template;
  }
  return undefined;
}

export class ResponseValidator {
  private readonly cache = new Map<string, z.ZodType>();

  constructor(private readonly doc: Json) {}

  /**
   * Throws unless the document lists `status` for the operation and, for a JSON response, the body
   * matches the documented schema. Returns the template path that matched.
   */
  check(method: string, urlPath: string, status: number, contentType: string | null, body: unknown): string {
    const template = matchPath(this.doc, urlPath);
    if (!template) throw new Error(`${method} ${urlPath}: path not in the API document`);
    const operation = (this.doc.paths as Record<string, Json>)[template]?.[method.toLowerCase()] as Json | undefined;
    if (!operation) throw new Error(`${method} ${template}: operation not in the API document`);
    const responses = operation.responses as Record<string, Json>;
    let response = responses[String(status)];
    if (!response) throw new Error(`${method} ${template}: status ${status} is not documented (documented: ${Object.keys(responses).join(', ')})`);
    response = this.deref(response);
    const content = response.content as Record<string, Json> | undefined;
    if (!content) return template;
    const mediaType = (contentType ?? '').split(';')[0]?.trim() ?? '';
    const documented = Object.keys(content);
    const entry = content[mediaType] ?? documented.map((t) => (matchesWildcard(t, mediaType) ? content[t] : undefined)).find(Boolean);
    if (!entry) throw new Error(`${method} ${template} ${status}: content type ${mediaType} not documented (${documented.join(', ')})`);
    if (mediaType !== 'application/json') return template;
    const key = `${template} ${method} ${status}`;
    let schema = this.cache.get(key);
    if (!schema) {
      schema = this.toZod(entry.schema as Json);
      this.cache.set(key, schema);
    }
    const parsed = schema.safeParse(body);
    if (!parsed.success)
      throw new Error(`${method} ${template} ${status}: body does not match the document: ${JSON.stringify(parsed.error.issues.slice(0, 3))}`);
    return template;
  }

  /** Validates a fetch Response (reads its body) and returns the parsed JSON, if any. */
  async checkResponse(method: string, response: Response): Promise<unknown> {
    const url = new URL(response.url);
    const type = response.headers.get('content-type');
    const text = await response.text();
    const body = type?.startsWith('application/json') && text !== '' ? (JSON.parse(text) as unknown) : text;
    this.check(method, url.pathname, response.status, type, body);
    return body;
  }

  private deref(value: Json): Json {
    const ref = value.$ref;
    if (typeof ref !== 'string') return value;
    const parts = ref.replace(/^#\//, '').split('/');
    let node: unknown = this.doc;
    for (const part of parts) node = (node as Json)[part];
    if (!node) throw new Error(`unresolvable $ref ${ref}`);
    return node as Json;
  }

  /** A zod validator for a schema of the document, with its component references made local `$defs`. */
  private toZod(schema: Json): z.ZodType {
    const components = ((this.doc.components as Json).schemas ?? {}) as Json;
    const rewrite = (value: unknown): unknown => {
      if (Array.isArray(value)) return value.map(rewrite);
      if (value && typeof value === 'object') {
        const out: Json = {};
        for (const [k, v] of Object.entries(value as Json)) {
          out[k] = k === '$ref' && typeof v === 'string' ? v.replace('#/components/schemas/', '#/$defs/') : rewrite(v);
        }
        return out;
      }
      return value;
    };
    const root = { $schema: 'https://json-schema.org/draft/2020-12/schema', ...(rewrite(schema) as Json), $defs: rewrite(components) };
    return z.fromJSONSchema(root as Parameters<typeof z.fromJSONSchema>[0]);
  }
}

function matchesWildcard(documented: string, actual: string): boolean {
  const [type, sub] = documented.split('/');
  const [actualType] = actual.split('/');
  return sub === '*' && type === actualType;
}
