// tsbox image SUBCOMMAND: Docker's `image` management verbs, each the same
// as its top-level form (image ls = images, image rm = rmi, ...).

import { UsageError } from "../../errors.ts";
import { formatHelp } from "../flags.ts";

const SUBS: Record<string, () => Promise<(args: string[]) => Promise<number>>> = {
  ls: async () => (await import("./images.ts")).main,
  list: async () => (await import("./images.ts")).main,
  inspect: async () => {
    const m = await import("./inspect.ts");
    return (args) => m.main(["--type", "image", ...args]);
  },
  pull: async () => (await import("./pull.ts")).main,
  push: async () => (await import("./push.ts")).main,
  rm: async () => (await import("./rmi.ts")).main,
  tag: async () => (await import("./tag.ts")).main,
  history: async () => (await import("./history.ts")).main,
  save: async () => (await import("./save.ts")).main,
  load: async () => (await import("./save.ts")).load,
  import: async () => (await import("./import.ts")).main,
  prune: async () => (await import("./rmi.ts")).prune,
};

const HELP = formatHelp(
  "image COMMAND",
  `Manage images.\n\nCommands:\n  ${Object.keys(SUBS).join(", ")}`,
  [
    "tsbox image ls",
    "tsbox image inspect -f '{{.RootFS.Layers}}' debian",
    "tsbox image prune -a -f",
  ],
  [],
);

/** Entry point of `tsbox image`. */
export async function main(args: string[]): Promise<number> {
  const [sub, ...rest] = args;
  if (sub === undefined || sub === "--help") {
    console.log(HELP);
    return sub === undefined ? 1 : 0;
  }
  const load = SUBS[sub];
  if (!load) throw new UsageError(`unknown command "image ${sub}"\nSee 'tsbox image --help'.`);
  return await (await load())(rest);
}
