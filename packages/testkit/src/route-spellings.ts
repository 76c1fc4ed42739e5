import assert from 'node:assert/strict';
import { rawRequest } from './raw-http.js';

/**
 * The route-spelling table of signaling's authentication (issue 8): every protected operation of the API
 * document, tried in every other way of writing its path, must never be served without the right token.
 * Signaling's integration test runs it against signaling alone, the end-to-end test against the whole stack.
 */

/** Other ways of writing the same path that a lenient router or a normalising proxy might accept. */
export function pathSpellings(path: string): string[] {
  const segments = path.split('/').slice(1);
  const [first = '', ...rest] = segments;
  const tail = rest.length > 0 ? `/${rest.join('/')}` : '';
  const encodeFirstLetter = (s: string) => `%${s.charCodeAt(0).toString(16)}${s.slice(1)}`;
  const out = [
    path.toUpperCase(),
    `/${first.charAt(0).toUpperCase()}${first.slice(1)}${tail}`,
    `/${first}${tail.toUpperCase()}`,
    `${path}/`,
    `${path}//`,
    `/${path}`,
    `/${first}/${tail}`,
    `/${encodeFirstLetter(first)}${tail}`,
    `/${first}${rest.length > 0 ? `/${encodeFirstLetter(rest[0] ?? '')}${rest.length > 1 ? `/${rest.slice(1).join('/')}` : ''}` : ''}`,
    `/${first}%2F${rest.join('%2F')}`,
    `/${first}/..${path}`,
    `/${first}/.${tail}`,
    `/x/..${path}`,
    `${path}/.`,
    `/./${first}${tail}`,
    `/${first}%2e${tail}`,
  ];
  return [...new Set(out)].filter((p) => p !== path);
}

export interface ApiOperation {
  /** lower case, as in the document: get, post, … */
  method: string;
  /** the document's template, e.g. /api/recordings/{id} */
  path: string;
}

const METHODS = ['get', 'put', 'post', 'delete', 'patch', 'head', 'options'];

/**
 * The operations of an OpenAPI document that require authentication: their own `security`, or the
 * document's when they have none, names at least one requirement. (`[{ bearer: [] }, {}]`, a token or a
 * first message as on /ws, counts as protected: the empty alternative is checked after the upgrade.)
 */
export function protectedOperations(doc: Record<string, unknown>): ApiOperation[] {
  const documentWide = (doc.security as unknown[] | undefined) ?? [];
  const out: ApiOperation[] = [];
  for (const [path, item] of Object.entries(doc.paths as Record<string, Record<string, { security?: unknown[] } | undefined>>)) {
    for (const method of METHODS) {
      const operation = item[method];
      if (operation && (operation.security ?? documentWide).length > 0) out.push({ method, path });
    }
  }
  return out;
}

/** A template with real values: /api/recordings/{id} and { id: 'rec_1' } → /api/recordings/rec_1. */
export function fillPath(template: string, ids: Record<string, string>): string {
  return template.replace(/\{(\w+)\}/g, (_m, name: string) => ids[name] ?? name);
}

export interface SpellingTableOptions {
  /** signaling's base URL */
  baseUrl: string;
  /** the API document (built, or as served at /openapi.json) */
  doc: Record<string, unknown>;
  /** real values for the templates' parameters: a spelling that slipped through would reach something that exists */
  ids: Record<string, string>;
  /** headers sent with every request besides the content type: a wrong or too weak token, or none */
  headers?: Record<string, string>;
  /** the loopback address to send from (its own client for signaling's per-address rate limit) */
  localAddress?: string;
}

/**
 * Sends every protected operation in its exact spelling and every other one, and asserts each is 401 or 404
 * (the exact spelling 401): never served. Returns how many requests were made.
 */
export async function assertNoSpellingServed(options: SpellingTableOptions): Promise<number> {
  const operations = protectedOperations(options.doc);
  assert.ok(operations.length >= 10, `the document has the protected routes (${operations.length})`);
  let tried = 0;
  for (const { method, path } of operations) {
    const real = fillPath(path, options.ids);
    for (const spelling of [real, ...pathSpellings(real)]) {
      const response = await rawRequest(options.baseUrl, method.toUpperCase(), spelling, {
        headers: { 'content-type': 'application/json', ...options.headers },
        ...(options.localAddress ? { localAddress: options.localAddress } : {}),
      });
      assert.ok([401, 404].includes(response.status), `${method.toUpperCase()} ${spelling} answered ${response.status}: ${response.body.slice(0, 200)}`);
      if (spelling === real) assert.equal(response.status, 401, `${method} ${real} itself needs the token`);
      tried++;
    }
  }
  assert.ok(tried > operations.length * 10, `${tried} spellings of ${operations.length} operations`);
  return tried;
}
