// Redis connections for the queue: from a URL (`redis://HOST:PORT`,
// `redis://:PASSWORD@HOST:PORT/DB`, `rediss://` for TLS) to ioredis
// options, and the URL as it may be shown: the password replaced by `***`.
// Nothing here or anywhere in the queue prints the URL it was given; every
// message uses `redact()`.
//
// The connections retry forever (ioredis reconnects after a Redis restart),
// so the places that wait on Redis put their own time limits around it and
// fail with a clear message instead of hanging.

import IORedis, { type RedisOptions } from 'ioredis';
import { EligoError } from '../../util/errors.js';

/** Key prefix of every queue key (`eligo:tasks:…`): one Redis can serve other applications beside Eligo. */
export const QUEUE_PREFIX = 'eligo';
/** The queue of tasks (the children of a run's flow) and the queue of runs (the flows' parents). */
export const TASK_QUEUE = 'tasks';
export const RUN_QUEUE = 'runs';

export class QueueUrlError extends EligoError {
  constructor(message: string) {
    super('queue.url', message);
  }
}

export interface QueueConnection {
  /** The URL with its password hidden: what logs, progress and errors show. */
  readonly shown: string;
  readonly options: RedisOptions;
  /** The password, to scrub from any message a library builds (it should never contain it). */
  readonly secret?: string;
}

/** Parses a Redis URL. Throws QueueUrlError with the URL redacted. */
export function parseRedisUrl(url: string): QueueConnection {
  let u: URL;
  try {
    u = new URL(url.trim());
  } catch {
    throw new QueueUrlError(`not a Redis URL: '${redactLoose(url)}' (expected redis://HOST:PORT or redis://:PASSWORD@HOST:PORT)`);
  }
  if (u.protocol !== 'redis:' && u.protocol !== 'rediss:') throw new QueueUrlError(`a Redis URL starts with redis:// or rediss://, not ${u.protocol}//`);
  if (!u.hostname) throw new QueueUrlError(`the Redis URL ${redact(u)} has no host`);
  const port = u.port ? Number(u.port) : 6379;
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new QueueUrlError(`the Redis URL ${redact(u)} has an invalid port`);
  const dbText = u.pathname.replace(/^\//, '');
  const db = dbText === '' ? 0 : Number(dbText);
  if (!Number.isInteger(db) || db < 0 || db > 15) throw new QueueUrlError(`the Redis URL ${redact(u)} names database '${dbText}'; give a number 0–15`);
  const password = u.password ? decodeURIComponent(u.password) : undefined;
  const username = u.username ? decodeURIComponent(u.username) : undefined;
  const host = u.hostname.replace(/^\[(.*)\]$/, '$1');
  const options: RedisOptions = {
    host, port, db,
    ...(username ? { username } : {}),
    ...(password !== undefined ? { password } : {}),
    ...(u.protocol === 'rediss:' ? { tls: { servername: host } } : {}),
    // BullMQ's blocking connections need this; our own waits have their own limits.
    maxRetriesPerRequest: null,
    enableReadyCheck: true,
    connectTimeout: 5000,
    // Reconnect quickly after a restart, then every 2 s.
    retryStrategy: (times: number) => Math.min(100 * times, 2000),
  };
  return { shown: redact(u), options, ...(password !== undefined ? { secret: password } : {}) };
}

function redact(u: URL): string {
  const auth = u.password ? `${u.username ? decodeURIComponent(u.username) : ''}:***@` : u.username ? `${decodeURIComponent(u.username)}@` : '';
  return `${u.protocol}//${auth}${u.host}${u.pathname && u.pathname !== '/' ? u.pathname : ''}`;
}

/**
 * For strings that are not URLs at all: hide whatever sits between '//' and the last '@', so a password
 * holding '@', '/' or ':' (which is why the URL did not parse) is hidden whole; without a scheme the string
 * may be a password pasted on its own, and is hidden entirely.
 */
export function redactLoose(s: string): string {
  const scheme = /^[A-Za-z][A-Za-z0-9+.-]*:\/\//.exec(s)?.[0];
  if (scheme === undefined) return '***';
  const at = s.lastIndexOf('@');
  return at < scheme.length ? s : `${scheme}***${s.slice(at)}`;
}

/** Removes the password from a message (a library's error text), should one ever contain it. */
export function scrub(c: QueueConnection, message: string): string {
  return c.secret ? message.split(c.secret).join('***') : message;
}

/** A plain ioredis client (heartbeats, cancel flags, pub/sub). Its errors are reported through `onError`, never thrown unhandled. */
export function redisClient(c: QueueConnection, onError?: (message: string) => void): IORedis {
  const r = new IORedis(c.options);
  r.on('error', (e: Error) => onError?.(scrub(c, e.message)));
  return r;
}

/** Resolves with `p`, or rejects after `ms` with `message` (Redis calls otherwise wait for a reconnect forever). */
export function withTimeout<T>(p: Promise<T>, ms: number, message: string): Promise<T> {
  let t: NodeJS.Timeout | undefined;
  return Promise.race([
    p.finally(() => clearTimeout(t)),
    new Promise<never>((_, reject) => { t = setTimeout(() => reject(new Error(message)), ms); }),
  ]);
}

/** Checks that Redis answers (and accepts the password) within `ms`; a clear message otherwise. */
export async function checkRedis(c: QueueConnection, ms = 5000): Promise<{ version: string }> {
  let last = '';
  const r = new IORedis({ ...c.options, retryStrategy: (times: number) => (times > 50 ? null : 100), lazyConnect: true });
  r.on('error', (e: Error) => { last = scrub(c, e.message); });
  try {
    await withTimeout(r.connect(), ms, 'timeout');
    const info = await withTimeout(r.info('server'), ms, 'timeout');
    const version = /redis_version:(\S+)/.exec(info)?.[1] ?? 'unknown';
    return { version };
  } catch (e) {
    const m = scrub(c, (e as Error).message);
    const why = /WRONGPASS|NOAUTH|invalid password|invalid username-password/i.test(`${m} ${last}`)
      ? 'it refused the password (check the one in the URL)'
      : m === 'timeout' ? `no answer within ${(ms / 1000).toFixed(0)} s${last ? ` (${last})` : ''}` : m || last;
    throw new Error(`cannot use Redis at ${c.shown}: ${why}`);
  } finally {
    r.disconnect();
  }
}
