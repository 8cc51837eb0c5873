// `--redis URL` of the commands that can run on the job queue: connects the
// queued executor (a clear one-line error when Redis is not there or
// refuses the password, the password never shown) and says who will work.

import { QueueExecutor } from '../jobs/queue/executor.js';
import { QueueUrlError } from '../jobs/queue/connection.js';
import { CliError } from './common.js';

export async function connectQueue(url: string | undefined, command: string, say: (line: string) => void): Promise<QueueExecutor | undefined> {
  if (url === undefined) return undefined;
  let q: QueueExecutor;
  try {
    q = await QueueExecutor.connect({ url, onNote: (n) => say(`note: ${n}`) });
  } catch (e) {
    if (e instanceof QueueUrlError) throw new CliError(`eligo ${command}: --redis: ${e.message}`);
    throw new CliError(`eligo ${command}: ${(e as Error).message}`);
  }
  const ws = await q.refreshWorkers();
  say(
    `queue ${q.connection.shown}: ${ws.length} worker${ws.length === 1 ? '' : 's'} (${ws.map((w) => `${w.name} ×${w.concurrency}`).join(', ') || 'none yet'})`,
  );
  return q;
}
