// Keeps the memory of a long stream flat. Every chunk of a pulled layer
// (the compressed bytes, the decompressed tar, the file data) is a
// short-lived ArrayBuffer whose backing store lives outside V8's heap and
// is freed only when V8 collects the object; V8 counts that external memory
// loosely and lets it grow to a few hundred MB on a big layer. A pacer runs
// a minor collection (a scavenge: the chunks die young) after every few MB
// that passed, so a pull stays under 100 MB whatever the layer's size.
// V8 exposes gc() only with --expose-gc; the flag is set at run time and
// the function taken from a fresh context (node:vm), as Node programs do.

import v8 from "node:v8";
import vm from "node:vm";

type Gc = (opts?: { type: "minor" | "major" }) => void;
let gc: Gc | null | undefined;

function collector(): Gc | null {
  if (gc !== undefined) return gc;
  try {
    v8.setFlagsFromString("--expose-gc");
    const f = vm.runInNewContext("gc");
    gc = typeof f === "function" ? f as Gc : null;
  } catch {
    gc = null; // without it, V8's own pacing
  }
  return gc;
}

/** Collects young garbage after every `every` bytes reported with `add`. */
export class GcPacer {
  #since = 0;
  constructor(readonly every = 8 << 20) {}

  /** Reports `n` more bytes streamed; collects when enough have passed. */
  add(n: number): void {
    this.#since += n;
    if (this.#since < this.every) return;
    this.#since = 0;
    collector()?.({ type: "minor" });
  }
}
