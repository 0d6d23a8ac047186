import assert from "node:assert/strict";

// The bytes in trampoline.ts must be exactly what trampoline.S assembles to.
Deno.test({
  name: "trampoline.ts matches trampoline.S",
  ignore: !["as", "objdump"].every((t) => {
    try {
      return Deno.statSync(`/usr/bin/${t}`).isFile;
    } catch {
      return false;
    }
  }),
  fn: async () => {
    const { generate } = await import("../../scripts/gen-trampoline.ts");
    const want = await Deno.readTextFile(new URL("./trampoline.ts", import.meta.url));
    assert.equal(await generate(), want, "run `deno task gen-trampoline`");
  },
});
