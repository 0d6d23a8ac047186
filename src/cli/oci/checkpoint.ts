// tsbox-runc checkpoint and restore: not supported (tsbox has no CRIU support).

import { TsboxError } from "../../errors.ts";
import type { GlobalOptions } from "./log.ts";

/** Entry point of `tsbox-runc checkpoint` and `restore`. */
export function main(_g: GlobalOptions, _args: string[]): Promise<number> {
  return Promise.reject(
    new TsboxError("checkpoint and restore are not supported by tsbox-runc (no CRIU)"),
  );
}
