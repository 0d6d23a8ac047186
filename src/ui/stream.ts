// The live feed of the containers page: server-sent events, one `tick` a
// second while at least one page listens (none otherwise), each with the
// figures of every running container read by the same StatsSampler as
// `tsbox stats`, and the table rows whenever they changed (so a container
// started, stopped or removed from the CLI shows within a tick or two).
// See the HTML standard, "Server-sent events".

import { ContainerWatch, liveContainers } from "../container/overview.ts";
import { cpuPercent, memPercent, type StatsSample, StatsSampler } from "../container/stats.ts";
import { containerRows } from "./api.ts";

/** The figures of one container in one tick, as the page draws them. */
export interface TickStats {
  id: string;
  /** Docker's CPU % (100 = one CPU). */
  cpu: number;
  mem: number;
  memLimit: number;
  memPercent: number;
  pids: number;
  blkRead: number;
  blkWrite: number;
  netRx: number;
  netTx: number;
}

const enc = new TextEncoder();

/** Fans ticks out to every connected page. */
export class StatsFeed {
  #clients = new Set<ReadableStreamDefaultController<Uint8Array>>();
  #timer: ReturnType<typeof setInterval> | undefined;
  #sampler = new StatsSampler();
  #prev = new Map<string, StatsSample>();
  #watch = new ContainerWatch();
  #lastKey = "";
  #sinceRows = 0;
  readonly intervalMs: number;

  constructor(intervalMs = 1000) {
    this.intervalMs = intervalMs;
  }

  /** A response streaming ticks to one page until it goes away. */
  response(headers: Headers): Response {
    let me: ReadableStreamDefaultController<Uint8Array>;
    const body = new ReadableStream<Uint8Array>({
      start: (c) => {
        me = c;
        this.#clients.add(c);
        c.enqueue(enc.encode(`retry: 2000\n\n`));
        this.#send(this.#tick(true), c);
        this.#timer ??= setInterval(() => this.#broadcast(), this.intervalMs);
      },
      cancel: () => this.#drop(me),
    });
    headers.set("content-type", "text/event-stream");
    headers.set("cache-control", "no-store");
    return new Response(body, { headers });
  }

  /** Lists the containers again on the next tick, and sends it right away (after an action). */
  invalidate(): void {
    this.#watch.invalidate();
    if (this.#clients.size) this.#broadcast();
  }

  /** Closes every stream (server shutdown). */
  close(): void {
    for (const c of this.#clients) {
      try {
        c.close();
      } catch { /* gone */ }
    }
    this.#clients.clear();
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
  }

  #drop(c: ReadableStreamDefaultController<Uint8Array>): void {
    this.#clients.delete(c);
    if (this.#clients.size === 0 && this.#timer !== undefined) {
      clearInterval(this.#timer);
      this.#timer = undefined;
    }
  }

  #send(data: string, c: ReadableStreamDefaultController<Uint8Array>): void {
    try {
      c.enqueue(enc.encode(`event: tick\ndata: ${data}\n\n`));
    } catch {
      this.#drop(c);
    }
  }

  #broadcast(): void {
    let data: string;
    try {
      data = this.#tick(false);
    } catch (e) {
      data = JSON.stringify({ error: String(e) });
    }
    for (const c of [...this.#clients]) this.#send(data, c);
  }

  /** One tick: rows when they changed (or `withRows`), and every running container's figures. */
  #tick(withRows: boolean): string {
    // The records are listed again only when something changed them (ContainerWatch).
    const { list: all, changed: relisted } = this.#watch.current();
    // The status text ("Up 5 seconds") changes every tick: rows go out when something
    // else changed, and every 5 ticks for the durations.
    let rows: ReturnType<typeof containerRows> | undefined;
    let changed = withRows || ++this.#sinceRows >= 5;
    if (relisted || changed) {
      rows = containerRows(all);
      const key = JSON.stringify(rows.map((r) => [r.id, r.name, r.state, r.pid, r.ports]));
      changed ||= key !== this.#lastKey;
      this.#lastKey = key;
    }
    if (changed) this.#sinceRows = 0;
    const samples = this.#sampler.sample(liveContainers(all));
    const stats: TickStats[] = samples.map((s) => ({
      id: s.id,
      cpu: +cpuPercent(this.#prev.get(s.id), s).toFixed(2),
      mem: s.memUsage,
      memLimit: s.memLimit,
      memPercent: +memPercent(s).toFixed(2),
      pids: s.pids,
      blkRead: s.blkRead,
      blkWrite: s.blkWrite,
      netRx: s.netRx,
      netTx: s.netTx,
    }));
    this.#prev = new Map(samples.map((s) => [s.id, s]));
    return `{"t":${Date.now()}${
      withRows || changed ? `,"rows":${JSON.stringify(rows)}` : ""
    },"stats":${JSON.stringify(stats)}}`;
  }
}
