// The job queue as the status bar shows it: while `eligo.queue.redis` is
// set, the workers heard from (their heartbeats, jobs/queue/worker.ts) are
// read every few seconds and a change is sent in `eligo/status`. The URL
// shown has its password hidden; a Redis that cannot be reached is said so.

import type { QueueStatus } from '../protocol.js';
import { parseRedisUrl, redisClient, scrub, withTimeout } from '../jobs/queue/connection.js';
import { listWorkers } from '../jobs/queue/worker.js';

const EVERY_MS = 5000;

let current: QueueStatus | undefined;
let watching: { url: string; timer: NodeJS.Timeout; close(): void } | undefined;

export function queueStatus(): QueueStatus | undefined {
  return current;
}

/** Starts, moves or stops the watch to match the URL `urlOf()` gives now; `changed` after each change of what is shown. */
export function watchQueue(urlOf: () => string | undefined, changed: () => void): void {
  const url = urlOf();
  if (watching?.url === url) return;
  watching?.close();
  watching = undefined;
  if (!url) {
    if (current) {
      current = undefined;
      changed();
    }
    return;
  }
  let c;
  try {
    c = parseRedisUrl(url);
  } catch (e) {
    current = { url: '', workers: 0, slots: 0, error: (e as Error).message };
    changed();
    return;
  }
  const conn = c;
  let lastError = '';
  const redis = redisClient(conn, (m) => {
    lastError = m;
  });
  const set = (next: QueueStatus): void => {
    if (JSON.stringify(next) === JSON.stringify(current)) return;
    current = next;
    changed();
  };
  const read = async (): Promise<void> => {
    try {
      const ws = await withTimeout(listWorkers(redis), 4000, 'no answer');
      set({ url: conn.shown, workers: ws.length, slots: ws.reduce((a, w) => a + w.concurrency, 0), names: ws.map((w) => w.name) });
    } catch (e) {
      set({ url: conn.shown, workers: 0, slots: 0, error: scrub(conn, lastError || (e as Error).message) });
    }
  };
  void read();
  const timer = setInterval(() => void read(), EVERY_MS);
  timer.unref();
  watching = {
    url,
    timer,
    close: () => {
      clearInterval(timer);
      redis.disconnect();
    },
  };
}
