// When the language server dies, restart it — but not forever: a server that
// crashes at start-up would otherwise loop. Pure, so it is tested without VS
// Code (test/extension.client.test.ts); client.ts asks it on every close.

export interface RestartDecision {
  readonly restart: boolean;
  /** What the notice says. */
  readonly message: string;
}

export class RestartPolicy {
  private readonly deaths: number[] = [];

  /**
   * @param maxRestarts restarts allowed within `windowMs` before giving up
   * @param windowMs the sliding window (the default error handler of
   *   vscode-languageclient uses 5 restarts in 3 minutes; so do we)
   */
  constructor(
    readonly maxRestarts = 4,
    readonly windowMs = 3 * 60_000,
  ) {}

  /** Records a death at `now` and says whether to restart. */
  onClosed(now: number): RestartDecision {
    this.deaths.push(now);
    while (this.deaths.length > 0 && now - this.deaths[0]! > this.windowMs) this.deaths.shift();
    const n = this.deaths.length;
    if (n <= this.maxRestarts) {
      return {
        restart: true,
        message: `The Eligo language server stopped unexpectedly; restarting it (${n} of ${this.maxRestarts} in ${Math.round(this.windowMs / 60_000)} min).`,
      };
    }
    return {
      restart: false,
      message: `The Eligo language server stopped ${n} times in ${Math.round(this.windowMs / 60_000)} minutes and will not be restarted. See the 'Eligo' output for its log, then run 'Eligo: Restart Server'.`,
    };
  }

  /** After a deliberate restart, past deaths no longer count. */
  reset(): void {
    this.deaths.length = 0;
  }
}
