// @ts-check
// The page's calls to the API: the token in a header, a 401 answered by asking for the token, a network
// failure told apart from an error answer (`{ "error": { "code", "message" } }`).

/** @typedef {import('@recstack/contracts').ErrorCode} ErrorCode */
/** @typedef {RequestInit & { headers?: Record<string, string> }} ApiInit */

export class ApiError extends Error {
  /**
   * @param {number} status
   * @param {ErrorCode | string} code
   * @param {string} message
   */
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

export class UnreachableError extends Error {}

/**
 * A response's JSON body, not yet trusted: the caller narrows it or says what the server sends.
 * @param {Response} response
 * @returns {Promise<unknown>}
 */
const jsonOf = (response) => response.json();

/**
 * @typedef {object} ApiHooks
 * @property {() => string} token the token to send (empty: none)
 * @property {(wasWrong: boolean) => Promise<void>} askForToken resolves once the person entered one
 * @property {(reachable: boolean) => void} reachable whether the server answered at all
 */

/** @param {ApiHooks} hooks */
export function createApi(hooks) {
  /** @returns {Record<string, string>} */
  const authHeaders = () => {
    const token = hooks.token();
    return token ? { authorization: `Bearer ${token}` } : {};
  };

  /**
   * One API call. A 401 asks the person for the token and tries again; a network failure becomes an
   * UnreachableError (the server is down or the network is), anything else an ApiError with the code.
   * @param {string} path
   * @param {ApiInit} [init]
   * @returns {Promise<Response>}
   */
  const api = async (path, init = {}) => {
    for (;;) {
      let response;
      try {
        response = await fetch(path, { ...init, headers: { ...authHeaders(), ...(init.headers || {}) } });
      } catch (cause) {
        hooks.reachable(false);
        throw new UnreachableError('The server cannot be reached.', { cause });
      }
      hooks.reachable(true);
      if (response.status === 401) {
        await hooks.askForToken(Boolean(hooks.token()));
        continue;
      }
      if (!response.ok) {
        let code = 'INTERNAL';
        let message = `The server answered ${response.status}.`;
        try {
          const body = /** @type {{ error?: Partial<import('@recstack/contracts').ErrorBody> }} */ (await jsonOf(response));
          code = body.error?.code ?? code;
          message = body.error?.message ?? message;
        } catch {
          // not JSON (a proxy error page): keep the generic words
        }
        throw new ApiError(response.status, code, message);
      }
      return response;
    }
  };

  /**
   * The answer's JSON body, as the API documents it for that path.
   * @template T
   * @param {string} path
   * @param {ApiInit} [init]
   * @returns {Promise<T>}
   */
  const apiJson = async (path, init) => /** @type {T} */ (await jsonOf(await api(path, init)));

  return { api, apiJson, authHeaders };
}
