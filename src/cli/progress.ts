// Pull progress as Docker prints it: on a terminal, one line per layer
// redrawn in place (Waiting, Downloading with a bar and bytes, Extracting,
// Pull complete); otherwise one plain line per change of status.

import type { PullEvent } from "../image/pull.ts";
import { humanSize } from "./human.ts";

const enc = new TextEncoder();

/** The bar Docker draws: 50 columns of "=" with a ">" head. */
export function progressBar(current: number, total: number): string {
  const width = 50;
  const done = total > 0 ? Math.min(width, Math.floor((current / total) * width)) : 0;
  const bar = done === width
    ? "=".repeat(width)
    : `${"=".repeat(done)}>${" ".repeat(width - done - 1)}`;
  return `[${bar}]  ${humanSize(current)}/${humanSize(total)}`;
}

/** Prints pull events to `out` (a terminal or not). */
export class PullProgress {
  readonly #out: { writeSync(p: Uint8Array): number };
  readonly #tty: boolean;
  readonly #quiet: boolean;
  readonly #order: string[] = [];
  readonly #lines = new Map<string, string>();
  readonly #plainLast = new Map<string, string>();
  #drawn = 0;
  #timer: ReturnType<typeof setTimeout> | undefined;

  constructor(out: { writeSync(p: Uint8Array): number; isTerminal(): boolean }, quiet = false) {
    this.#out = out;
    this.#tty = out.isTerminal();
    this.#quiet = quiet;
  }

  /** Writes a line of text (not a layer). */
  line(text: string): void {
    if (this.#quiet) return;
    this.#flush();
    this.#write(`${text}\n`);
    this.#drawn = 0;
    this.#order.length = 0;
    this.#lines.clear();
  }

  #write(s: string): void {
    const b = enc.encode(s);
    let off = 0;
    while (off < b.length) off += this.#out.writeSync(b.subarray(off));
  }

  /** Handles one event. */
  event(e: PullEvent): void {
    if (this.#quiet) return;
    if (e.kind === "retry") {
      if (!this.#tty) this.#write(`retrying ${e.what} in ${e.delayMs} ms: ${e.error}\n`);
      return;
    }
    if (e.kind !== "layer") return;
    if (!this.#lines.has(e.id)) this.#order.push(e.id);
    const text = e.status === "Downloading" && e.current !== undefined && e.total !== undefined
      ? `${e.id}: Downloading ${progressBar(e.current, e.total)}`
      : `${e.id}: ${e.status}`;
    this.#lines.set(e.id, text);
    if (!this.#tty) {
      if (this.#plainLast.get(e.id) !== e.status) {
        this.#plainLast.set(e.id, e.status);
        this.#write(`${e.id}: ${e.status}\n`);
      }
      return;
    }
    this.#timer ??= setTimeout(() => this.#flush(), 100);
  }

  #flush(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    if (!this.#tty || this.#order.length === 0) return;
    let s = this.#drawn ? `\x1b[${this.#drawn}A` : "";
    for (const id of this.#order) s += `\x1b[2K${this.#lines.get(id)}\n`;
    this.#drawn = this.#order.length;
    this.#write(s);
  }

  /** Draws the final state. */
  done(): void {
    this.#flush();
  }
}
