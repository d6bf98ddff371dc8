/* api.js — fetch wrapper for the isle JSON API (docs/API.md).
 *
 * - JSON in and out, cookies sent same-origin.
 * - Unsafe methods (POST/PUT/PATCH/DELETE) carry X-CSRF-Token once a session exists.
 * - Any failure becomes an ApiError holding the standard error body
 *   {"error":{"code","message","field"}} so forms can show the message next to
 *   the named field (see showFormError in dom.js).
 * - A 401 on a call made while logged in fires the "isle:unauthenticated" event
 *   on window so the shell can drop the stale session. */

const UNSAFE = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

let csrfToken = '';

/** Remember (or forget, with '') the CSRF token of the current session. */
export function setCsrfToken(token) {
  csrfToken = token || '';
}

/** Fallback Chinese messages for error codes whose body carries no message. */
const CODE_MESSAGES = {
  invalid_argument: '填写的内容有误，请检查后重试',
  unauthenticated: '请先登录',
  permission_denied: '您没有权限执行此操作',
  not_found: '未找到相关内容',
  method_not_allowed: '不支持的操作',
  conflict: '操作冲突，请刷新后重试',
  payload_too_large: '提交的内容过大',
  unsupported_media_type: '不支持的内容格式',
  unprocessable: '无法处理该请求',
  rate_limited: '操作过于频繁，请稍后再试',
  internal: '服务器出现问题，请稍后重试',
  unavailable: '服务暂时不可用，请稍后重试',
  network: '网络连接失败，请检查网络后重试',
  bad_response: '服务器返回了无法识别的内容',
};

export class ApiError extends Error {
  /**
   * @param {number} status HTTP status (0 for network failure)
   * @param {string} code   API error code
   * @param {string} message human-readable message (Chinese where the server gives it)
   * @param {string} field  name of the offending input field, or ''
   */
  constructor(status, code, message, field) {
    super(message || CODE_MESSAGES[code] || `请求失败（${status}）`);
    this.name = 'ApiError';
    this.status = status;
    this.code = code || 'unknown';
    this.field = field || '';
    this.retryAfter = 0;
  }
}

/** Build "path?k=v&…" skipping empty values. */
export function withQuery(path, params) {
  const qs = new URLSearchParams();
  for (const [k, v] of Object.entries(params || {})) {
    if (v === undefined || v === null || v === '') continue;
    qs.set(k, String(v));
  }
  const s = qs.toString();
  return s ? `${path}?${s}` : path;
}

/**
 * Call the API. Resolves with the parsed JSON body (null for 204), rejects with ApiError.
 * @param {string} method
 * @param {string} path   e.g. "/api/v1/session"
 * @param {object|FormData} [body] JSON body for unsafe methods, or FormData for uploads
 * @param {{signal?: AbortSignal, quiet401?: boolean}} [opts]
 */
export async function api(method, path, body, opts = {}) {
  const m = method.toUpperCase();
  const headers = { Accept: 'application/json' };
  const init = { method: m, headers, credentials: 'same-origin', signal: opts.signal };
  if (body instanceof FormData) {
    init.body = body; // multipart: the browser sets Content-Type with the boundary
  } else if (body !== undefined && body !== null) {
    headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  if (UNSAFE.has(m) && csrfToken) headers['X-CSRF-Token'] = csrfToken;

  let res;
  try {
    res = await fetch(path, init);
  } catch (e) {
    if (e && e.name === 'AbortError') throw e;
    throw new ApiError(0, 'network', '', '');
  }

  if (res.status === 204) return null;
  const text = await res.text();
  let data = null;
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      if (res.ok) throw new ApiError(res.status, 'bad_response', '', '');
    }
  }
  if (res.ok) return data;

  const e = data && data.error ? data.error : {};
  const err = new ApiError(res.status, e.code || codeForStatus(res.status), e.message || '', e.field || '');
  if (res.status === 429) {
    err.retryAfter = parseInt(res.headers.get('Retry-After') || '0', 10) || 0;
    if (err.retryAfter) err.message = `${err.message}（请 ${err.retryAfter} 秒后再试）`;
  }
  if (res.status === 401 && csrfToken && !opts.quiet401) {
    window.dispatchEvent(new CustomEvent('isle:unauthenticated', { detail: { path } }));
  }
  throw err;
}

function codeForStatus(status) {
  return (
    {
      400: 'invalid_argument',
      401: 'unauthenticated',
      403: 'permission_denied',
      404: 'not_found',
      405: 'method_not_allowed',
      409: 'conflict',
      413: 'payload_too_large',
      415: 'unsupported_media_type',
      422: 'unprocessable',
      429: 'rate_limited',
      503: 'unavailable',
    }[status] || 'internal'
  );
}

export const get = (path, opts) => api('GET', path, undefined, opts);
export const post = (path, body, opts) => api('POST', path, body === undefined ? {} : body, opts);
export const put = (path, body, opts) => api('PUT', path, body, opts);
export const patch = (path, body, opts) => api('PATCH', path, body, opts);
export const del = (path, opts) => api('DELETE', path, undefined, opts);
