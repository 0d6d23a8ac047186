// tsbox-runc beside runc, in one run: `run` of the same bundle (/bin/true),
// medians and ratio (issue 10's goal: <= 1.5x runc's wall time), with the
// floors that are Deno's: a bare `deno run` of an empty script, and
// `tsbox-runc --version` (Deno plus loading tsbox's modules).
//
//   deno run -A scripts/bench-oci.ts [--runs N]
// Needs root and runc (scripts/setup --bench). Take the root-test lock when
// other tests run on the machine: flock /tmp/tsbox-roottest.lock ...

import { busyboxTarball, host } from "../tests/lib/harness.ts";

const args = Deno.args;
const runs = args.includes("--runs") ? Number(args[args.indexOf("--runs") + 1]) : 20;
const repo = new URL("../", import.meta.url).pathname;
const tsboxRunc = `${repo}scripts/tsbox-runc`;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

async function time(cmd: string, cmdArgs: string[]): Promise<number> {
  const t0 = performance.now();
  const o = await new Deno.Command(cmd, { args: cmdArgs, stdout: "null", stderr: "piped" })
    .output();
  const ms = performance.now() - t0;
  if (o.code !== 0) {
    throw new Error(`${cmd} ${cmdArgs.join(" ")}: ${new TextDecoder().decode(o.stderr)}`);
  }
  return ms;
}

async function bench(name: string, cmd: string, cmdArgs: string[]): Promise<number> {
  await time(cmd, cmdArgs); // warm caches
  const ms: number[] = [];
  for (let i = 0; i < runs; i++) ms.push(await time(cmd, cmdArgs));
  const m = median(ms);
  console.log(`${name.padEnd(34)} ${m.toFixed(1).padStart(7)} ms  (median of ${runs})`);
  return m;
}

if (import.meta.main) {
  const dir = await Deno.makeTempDir({ prefix: "oci-bench-" });
  try {
    await Deno.mkdir(`${dir}/b/rootfs`, { recursive: true });
    await host("tar", ["-xf", await busyboxTarball(), "-C", `${dir}/b/rootfs`]);
    await time(tsboxRunc, ["spec", "--bundle", `${dir}/b`]);
    const config = JSON.parse(await Deno.readTextFile(`${dir}/b/config.json`));
    config.process.terminal = false;
    config.process.args = ["/bin/true"];
    await Deno.writeTextFile(`${dir}/b/config.json`, JSON.stringify(config));
    await Deno.writeTextFile(`${dir}/empty.ts`, "");
    const runc = await bench("runc run (/bin/true)", "runc", [
      "--root",
      `${dir}/runc`,
      "run",
      "--bundle",
      `${dir}/b`,
      "bench",
    ]);
    const ts = await bench("tsbox-runc run (/bin/true)", tsboxRunc, [
      "--root",
      `${dir}/tsbox`,
      "run",
      "--bundle",
      `${dir}/b`,
      "bench",
    ]);
    const deno = await bench("deno run (empty script)", Deno.execPath(), [
      "run",
      "--quiet",
      `${dir}/empty.ts`,
    ]);
    const version = await bench("tsbox-runc --version", tsboxRunc, ["--version"]);
    console.log(
      `ratio tsbox-runc/runc ${(ts / runc).toFixed(2)} (goal <= 1.5); Deno's start ${
        deno.toFixed(1)
      } ms, module loading ${(version - deno).toFixed(1)} ms, the container's work ${
        (ts - version).toFixed(1)
      } ms`,
    );
  } finally {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}
