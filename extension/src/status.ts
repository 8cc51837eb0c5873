// The status bar item: the compute backend the server uses (tfjs-node, wasm
// or cpu) and the running job; clicking it cancels the job (or shows the log
// when none runs). What it says is computed by jobs.ts `statusView`.

import * as vscode from 'vscode';
import { statusView, type Backend, type JobRegistry, type QueueView, type ServerState } from './jobs.js';

export class Status implements vscode.Disposable {
  private readonly item: vscode.StatusBarItem;
  private backend: Backend | undefined;
  private server: ServerState = 'starting';
  private queue: QueueView | undefined;
  private readonly sub: { dispose(): void };
  private timer: ReturnType<typeof setInterval> | undefined;

  constructor(private readonly jobs: JobRegistry) {
    this.item = vscode.window.createStatusBarItem('eligo.status', vscode.StatusBarAlignment.Left, 10);
    this.item.name = 'Eligo';
    this.sub = jobs.onChange(() => this.render());
    this.render();
    this.item.show();
  }

  setBackend(b: Backend | undefined): void {
    this.backend = b;
    this.render();
  }

  /** The job queue's workers (eligo.queue.redis), as the server last reported them. */
  setQueue(q: QueueView | undefined): void {
    this.queue = q;
    this.render();
  }

  setServer(s: ServerState): void {
    this.server = s;
    this.render();
  }

  private render(): void {
    const v = statusView(this.backend, this.server, this.jobs.running, Date.now(), this.queue);
    this.item.text = v.text;
    this.item.tooltip = v.tooltip;
    this.item.command = v.command;
    this.item.backgroundColor = this.server === 'stopped' ? new vscode.ThemeColor('statusBarItem.errorBackground') : undefined;
    // Tick the elapsed seconds while a job runs.
    if (v.busy && !this.timer) this.timer = setInterval(() => this.render(), 1000);
    if (!v.busy && this.timer) {
      clearInterval(this.timer);
      this.timer = undefined;
    }
  }

  dispose(): void {
    if (this.timer) clearInterval(this.timer);
    this.sub.dispose();
    this.item.dispose();
  }
}
