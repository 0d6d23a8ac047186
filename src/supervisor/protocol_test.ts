import assert from "node:assert/strict";
import { writeAll } from "./client.ts";
import { readLine } from "./protocol.ts";

Deno.test("readLine and writeAll carry a megabyte line and characters split between reads", async () => {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/s.sock`;
  const listener = Deno.listen({ transport: "unix", path });
  try {
    const big = "é".repeat(600_000); // 1.2 MB of two-byte characters
    const accepted = listener.accept();
    const client = await Deno.connect({ transport: "unix", path });
    const server = await accepted;
    const sent = writeAll(client, new TextEncoder().encode(`${big}\nsecond\nthird`)).then(() =>
      client.close()
    );
    const pending = { buf: "" };
    const first = await readLine(server, pending);
    assert.ok(first === big, `first line: ${first?.length} characters, expected ${big.length}`);
    assert.equal(await readLine(server, pending), "second");
    await sent;
    assert.equal(await readLine(server, pending), undefined, "no newline: not a line");
    assert.equal(pending.buf, "third");
    server.close();
  } finally {
    listener.close();
    await Deno.remove(dir, { recursive: true });
  }
});
