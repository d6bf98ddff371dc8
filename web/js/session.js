/* session.js — who is logged in. Holds the user object and CSRF token, and tells
 * subscribers (the header, the router) when that changes. */
import { api, del, post, setCsrfToken } from './api.js';

let current = null; // {user, csrf_token, expires_at} or null
const listeners = new Set();

export function user() {
  return current ? current.user : null;
}

export function role() {
  return current ? current.user.role : '';
}

export function hasRole(...roles) {
  return Boolean(current) && roles.includes(current.user.role);
}

export function onChange(fn) {
  listeners.add(fn);
  return () => listeners.delete(fn);
}

function set(sess) {
  current = sess && sess.user ? sess : null;
  setCsrfToken(current ? current.csrf_token : '');
  for (const fn of listeners) fn(user());
}

/** Ask the server for the current session (cookie). Anonymous on 401. */
export async function load() {
  try {
    const s = await api('GET', '/api/v1/session', undefined, { quiet401: true });
    set(s);
  } catch (e) {
    if (e.status !== 401) throw e;
    set(null);
  }
  return user();
}

export async function login(loginName, password) {
  const s = await post('/api/v1/session', { login: loginName, password }, { quiet401: true });
  set(s);
  return user();
}

export async function logout() {
  try {
    await del('/api/v1/session', { quiet401: true });
  } finally {
    set(null);
  }
}

/** Replace the cached user object (e.g. after /api/v1/me). */
export function updateUser(u) {
  if (current && u && u.id === current.user.id) {
    current = { ...current, user: { ...current.user, ...u } };
    for (const fn of listeners) fn(user());
  }
}

/** Forget the session locally (server already said 401). */
export function drop() {
  set(null);
}

/** Landing path for a role after login. */
export function homeFor(u) {
  if (!u) return '/';
  return '/';
}

/** Only same-origin, relative "next" targets are honoured after login. */
export function safeNext(next) {
  if (!next || !next.startsWith('/') || next.startsWith('//') || next.startsWith('/\\')) return '';
  if (next.startsWith('/login') || next.startsWith('/register')) return '';
  return next;
}
