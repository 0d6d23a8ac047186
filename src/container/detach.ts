// Detached containers (run -d), supervised after the CLI exits.

import { UsageError } from "../errors.ts";
import type { RunOptions } from "./options.ts";

/** Starts a container in the background; returns its id. */
export function runDetached(_opts: RunOptions): Promise<string> {
  return Promise.reject(new UsageError("run -d is not available yet"));
}
