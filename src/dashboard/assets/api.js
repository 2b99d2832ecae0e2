// Every call to the admin API goes through `api()`: it adds the admin token kept for this tab
// (sessionStorage, gone when the tab closes), turns error answers into `ApiError` with the
// server's sentence, and tells the page when the token stops being accepted.

const TOKEN_KEY = 'crm-webhooks.admin-token';

export const auth = {
  /** `open` when the server has no CRM_ADMIN_TOKEN (loopback only), else `token`. */
  mode: document.documentElement.dataset.auth === 'open' ? 'open' : 'token',
  get token() {
    return sessionStorage.getItem(TOKEN_KEY);
  },
  set token(value) {
    if (value) sessionStorage.setItem(TOKEN_KEY, value);
    else sessionStorage.removeItem(TOKEN_KEY);
  },
  get signedIn() {
    return this.mode === 'open' || Boolean(this.token);
  },
};

export class ApiError extends Error {
  /** `data` and `headers` are the refusal's body and headers (absent when nothing answered). */
  constructor(status, detail, data = null, headers = null) {
    super(detail);
    this.status = status;
    this.data = data;
    this.headers = headers;
  }
}

function query(params) {
  const pairs = Object.entries(params || {}).filter(([, v]) => v !== null && v !== undefined && v !== '');
  return pairs.length ? `?${new URLSearchParams(pairs)}` : '';
}

/**
 * `api('/api/v1/webhooks/logs', {query: {page_size: 20}})` → `{data, headers, status}`.
 * `token` overrides the stored one (used by sign-in to test a candidate).
 */
export async function api(path, { method = 'GET', body, params, token } = {}) {
  const headers = { Accept: 'application/json' };
  const bearer = token ?? auth.token;
  if (bearer) headers.Authorization = `Bearer ${bearer}`;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  let response;
  try {
    response = await fetch(path + query(params), { method, headers, body: body === undefined ? undefined : JSON.stringify(body), cache: 'no-store' });
  } catch {
    throw new ApiError(0, 'The server did not answer. Is crm-webhooks still running?');
  }
  const text = await response.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = text;
  }
  if (!response.ok) {
    const detail = data && typeof data === 'object' && data.detail ? data.detail : `HTTP ${response.status}`;
    if (response.status === 401 && token === undefined) window.dispatchEvent(new CustomEvent('crm:unauthorized'));
    throw new ApiError(response.status, detail, data, response.headers);
  }
  return { data, headers: response.headers, status: response.status };
}
