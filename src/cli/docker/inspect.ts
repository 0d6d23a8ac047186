// tsbox inspect: containers (or images) as JSON, or through --format.

import { ErrorList, formatError, NotFoundError, UsageError } from "../../errors.ts";
import { bool, type FlagDef, formatHelp, parseFlags, str } from "../flags.ts";
import { compileTemplate } from "../template.ts";

const FLAGS: FlagDef[] = [
  {
    name: "format",
    short: "f",
    type: "string",
    value: "TEMPLATE",
    help: "Format the output with a Go-style template",
  },
  { name: "type", type: "string", value: "TYPE", help: "Only container or image" },
  { name: "help", type: "bool", help: "Print usage" },
];
const HELP = formatHelp(
  "inspect [OPTIONS] NAME|ID [NAME|ID...]",
  "Show details of containers or images as JSON: state, pid, exit code, OOMKilled, times, config,\nmounts, network settings, cgroup (requested and effective limits) and namespace ids.",
  [
    "tsbox inspect web",
    "tsbox inspect -f '{{.State.Status}} {{.State.OOMKilled}}' web",
    "tsbox inspect -f '{{json .Cgroup.Effective}}' web",
  ],
  FLAGS,
);

/** Entry point of `tsbox inspect`. */
export async function main(args: string[]): Promise<number> {
  const { flags, positionals } = parseFlags("inspect", args, FLAGS, true);
  if (bool(flags, "help")) {
    console.log(HELP);
    return 0;
  }
  if (!positionals.length) {
    throw new UsageError(
      `"tsbox inspect" requires at least 1 argument.\nSee 'tsbox inspect --help'.`,
    );
  }
  const type = str(flags, "type");
  if (type !== undefined && type !== "container" && type !== "image") {
    throw new UsageError(`invalid --type ${JSON.stringify(type)}`);
  }
  const format = str(flags, "format");
  const tpl = format !== undefined ? compileTemplate(format) : undefined;
  const { findContainer } = await import("../../state/containers.ts");
  const { inspectContainer } = await import("../../container/inspect.ts");
  const { findImage } = await import("../../image/store.ts");
  const { inspectImage } = await import("../../image/inspect.ts");
  await (await import("../../image/legacy.ts")).prepareStore();
  const docs: unknown[] = [];
  const errs = new ErrorList();
  for (const ref of positionals) {
    errs.try(`inspect ${ref}`, () => {
      if (type !== "image") {
        try {
          docs.push(inspectContainer(findContainer(ref)));
          return;
        } catch (e) {
          if (!(e instanceof NotFoundError) || type === "container") throw e;
        }
      }
      try {
        docs.push(inspectImage(findImage(ref)));
      } catch (e) {
        if (e instanceof NotFoundError) {
          throw new NotFoundError(`no such object: ${ref}`, { exitCode: 1 });
        }
        throw e;
      }
    });
  }
  if (tpl) { for (const d of docs) console.log(tpl.render(d)); }
  else console.log(JSON.stringify(docs, null, 4));
  for (const e of errs.errors) console.error(`tsbox: ${formatError(e)}`);
  return errs.errors.length ? 1 : 0;
}
