// Calls to the server. With a token (kept in this tab's session storage only) every
// call carries it as a bearer; a 401 is reported to the login flow.

const KEY = 'kektordb.token';

export class ApiError extends Error {
  constructor(status, message, body) {
    super(message);
    this.status = status;
    this.body = body;
  }
}

let unauthorized = null;
/** Called with the server's message whenever a call answers 401. */
export function onUnauthorized(fn) { unauthorized = fn; }

export const token = () => sessionStorage.getItem(KEY);
export const setToken = (t) => sessionStorage.setItem(KEY, t);
export const clearToken = () => sessionStorage.removeItem(KEY);

export async function call(method, path, body) {
  const headers = {};
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const t = token();
  if (t) headers.Authorization = 'Bearer ' + t;
  let r;
  try {
    r = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  } catch (e) {
    throw new ApiError(0, 'the server cannot be reached (' + e.message + ')');
  }
  const text = await r.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch { data = text; }
  if (!r.ok) {
    const msg = (data && data.error) || text || r.statusText;
    const err = new ApiError(r.status, msg, data);
    if (r.status === 401 && unauthorized) unauthorized(err);
    throw err;
  }
  return data;
}

export const get = (path) => call('GET', path);
export const post = (path, body) => call('POST', path, body || {});
export const del = (path) => call('DELETE', path);
export const enc = encodeURIComponent;
