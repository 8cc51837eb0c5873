// Worker-thread entry (bundled to dist/worker.js): runs one long job for
// the language server's job runner (jobs/runner.ts) or the CLI.

import { parentPort } from 'node:worker_threads';
import { serveJobs, type Port } from './jobs/host.js';
import { JOB_KINDS } from './jobs/kinds.js';

if (parentPort) serveJobs(parentPort as unknown as Port, JOB_KINDS);
