// `eligo worker --redis URL [--concurrency N]`: a process that runs Eligo's
// queued tasks (find-rule candidates, search restarts, self-play episodes)
// for any `eligo find-rule|search --redis URL` or `npm run train-agent --
// --redis URL` on the same Redis, on this machine's cores. Ctrl-C (or
// SIGTERM) finishes the tasks in hand and stops; a second one stops at once
// (the queue gives those tasks to another worker).

import { cpus } from 'node:os';
import { QueueUrlError } from '../jobs/queue/connection.js';
import { checkRedis, parseRedisUrl } from '../jobs/queue/connection.js';
import { TASK_KINDS } from '../jobs/queue/tasks.js';
import { startWorker } from '../jobs/queue/worker.js';
import { CliError, intOption, str, type Command } from './common.js';
import { durationOption } from './options.js';

export const workerCommand: Command = {
  name: 'worker',
  summary: [
    'Run queued Eligo tasks from Redis: find-rule candidates, search restarts and self-play episodes of runs started',
    'with --redis URL anywhere. Start one on every machine that should help (--concurrency tasks at a time, default',
    "the cores less one). A killed worker's task is retried on another after --lock-duration. The URL may hold a",
    'password (redis://:PASSWORD@HOST:PORT); it is never printed. Ctrl-C finishes the tasks in hand, twice stops now.',
  ].join('\n'),
  usage: 'eligo worker --redis redis://HOST:PORT [--concurrency N] [--name NAME] [--lock-duration 10s]',
  options: {
    redis: {
      type: 'string',
      value: 'URL',
      defaultText: 'the ELIGO_REDIS environment variable',
      example: 'redis://:PASSWORD@10.0.0.5:6379',
      description: 'The Redis whose queue to take tasks from (redis:// or rediss:// for TLS); a password in it is never printed.',
    },
    concurrency: {
      type: 'string',
      value: 'N',
      defaultText: 'the number of cores less one',
      example: '4',
      description: 'Tasks run at once, each in a thread of its own.',
    },
    name: {
      type: 'string',
      value: 'NAME',
      defaultText: 'HOST:PID',
      example: 'gpu1',
      description: "What this worker is called in the workers' list and the runs' logs.",
    },
    'lock-duration': {
      type: 'string',
      value: 'DURATION',
      default: '10s',
      example: '30s',
      description: "How long a task stays this worker's without a heartbeat: a killed worker's task goes to another after it.",
    },
  },
  async run({ values }) {
    const url = str(values.redis) ?? process.env.ELIGO_REDIS;
    if (!url) throw new CliError("eligo worker: give --redis redis://HOST:PORT (or set ELIGO_REDIS); see 'eligo worker --help'");
    const concurrency = intOption(values.concurrency, 'concurrency', Math.max(1, cpus().length - 1), 1, 256);
    const lockDurationMs = durationOption(str(values['lock-duration']), 'lock-duration', 10_000, 200);
    let c;
    try {
      c = parseRedisUrl(url);
      await checkRedis(c);
    } catch (e) {
      if (e instanceof QueueUrlError) throw new CliError(`eligo worker: ${e.message}`);
      throw new CliError(`eligo worker: ${(e as Error).message}`);
    }
    const name = str(values.name);
    const w = await startWorker({ url, concurrency, lockDurationMs, kinds: TASK_KINDS, ...(name !== undefined ? { name } : {}) });
    await new Promise<void>((resolve) => {
      let stops = 0;
      const stop = (): void => {
        stops++;
        process.stdout.write(stops === 1 ? `${w.name}: stopping after the tasks in hand (Ctrl-C again to stop now)\n` : `${w.name}: stopping now\n`);
        void w.close(stops > 1).then(resolve);
      };
      process.on('SIGINT', stop);
      process.on('SIGTERM', stop);
    });
    process.stdout.write(`${w.name}: stopped\n`);
    // Everything is closed; do not let a library's stray timer keep the process.
    setTimeout(() => process.exit(0), 1000).unref();
    return 0;
  },
};
