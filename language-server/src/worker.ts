// Worker-thread entry (bundled to dist/worker.js). One script, three services:
// the long jobs of the job runner (jobs/host.ts; one worker per job), the
// item analysis of the language server (server/analysisHost.ts; one
// long-lived worker), and the task threads of an `eligo worker` process
// (jobs/queue/threads.ts). Each ignores the others' messages. The search
// engine starts its own threads on this same file (search/worker.ts runs
// when its worker data says so); those serve none.

import { parentPort, workerData } from 'node:worker_threads';
import { serveJobs } from './jobs/host.js';
import { JOB_KINDS } from './jobs/kinds.js';
import { TASK_KINDS } from './jobs/queue/tasks.js';
import { serveTasks, TASK_THREAD_FLAG } from './jobs/queue/threads.js';
import { serveAnalysis } from './server/analysisHost.js';

const data = typeof workerData === 'object' && workerData !== null ? (workerData as Record<string, unknown>) : {};
const searchThread = data.eligoSearchWorker === true;
const taskThread = data[TASK_THREAD_FLAG] === true;
// The compiled trainer's threads (train/compiled/threads.ts) start on this file too and serve only themselves.
const stepThread = data.eligoCompiledStep === true;

if (parentPort && taskThread) {
  serveTasks(TASK_KINDS);
} else if (parentPort && !searchThread && !stepThread) {
  serveJobs(parentPort, JOB_KINDS);
  serveAnalysis(parentPort);
}
