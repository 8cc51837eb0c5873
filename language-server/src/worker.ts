// Worker-thread entry (bundled to dist/worker.js). One script, two services:
// the long jobs of the job runner (jobs/host.ts; one worker per job) and the
// item analysis of the language server (server/analysisHost.ts; one
// long-lived worker). Each ignores the other's messages. The search engine
// starts its own threads on this same file (search/worker.ts runs when its
// worker data says so); those serve neither.

import { parentPort, workerData } from 'node:worker_threads';
import { serveJobs, type Port } from './jobs/host.js';
import { JOB_KINDS } from './jobs/kinds.js';
import { serveAnalysis, type AnalysisPort } from './server/analysisHost.js';

const searchThread = typeof workerData === 'object' && workerData !== null && (workerData as { eligoSearchWorker?: boolean }).eligoSearchWorker === true;
// The compiled trainer's threads (train/compiled/threads.ts) start on this file too and serve only themselves.
const stepThread = typeof workerData === 'object' && workerData !== null && (workerData as { eligoCompiledStep?: boolean }).eligoCompiledStep === true;

if (parentPort && !searchThread && !stepThread) {
  serveJobs(parentPort as unknown as Port, JOB_KINDS);
  serveAnalysis(parentPort as unknown as AnalysisPort);
}
