import assert from "node:assert/strict";
import { exeImage, exeMappings, mmLayout } from "./self_exe.ts";

const MAPS = `55d0a0000000-55d0a1000000 r--p 00000000 fe:00 5308747                    /opt/deno
55d0a1000000-55d0a3000000 r-xp 01000000 fe:00 5308747                    /opt/deno
55d0a3000000-55d0a3100000 rw-p 03000000 fe:00 5308747                    /opt/deno
55d0a3100000-55d0a3200000 rw-p 00000000 00:00 0                          [heap]
7f0000000000-7f0000100000 r-xp 00000000 fe:00 1234                       /usr/lib/libc.so.6
7f0000200000-7f0000300000 r-xp 02000000 fe:00 5308747                    /opt/deno
7f0000400000-7f0000500000 r--p 00000000 fe:00 999                        /opt/deno
7f0000600000-7f0000601000 r--p 00000000 fe:00 5308747                    /opt/deno copy
`;

Deno.test("exeMappings picks the executable's mappings by path and inode", () => {
  assert.deepEqual(exeMappings(MAPS, "/opt/deno", 5308747), [
    { start: 0x55d0a0000000n, length: 0x1000000n },
    { start: 0x55d0a1000000n, length: 0x2000000n },
    { start: 0x55d0a3000000n, length: 0x100000n },
    { start: 0x7f0000200000n, length: 0x100000n },
  ]);
  assert.deepEqual(exeMappings(MAPS, "/opt/nothing", 5308747), []);
});

Deno.test("mmLayout reads prctl_mm_map's fields from /proc/PID/stat, past a tricky name", () => {
  // Fields 3..52 after "pid (comm) "; field n holds n * 1000 here.
  const fields = Array.from({ length: 50 }, (_, i) => String((i + 3) * 1000));
  const stat = `4242 (a) b (c) ${fields.join(" ")}\n`;
  assert.deepEqual(mmLayout(stat, 7n), [
    26000n, // start_code
    27000n, // end_code
    45000n, // start_data
    46000n, // end_data
    47000n, // start_brk
    7n, // brk
    28000n, // start_stack
    48000n, // arg_start
    49000n, // arg_end
    50000n, // env_start
    51000n, // env_end
  ]);
  assert.throws(() => mmLayout("1 (x) R 0", 0n), /no field 26/);
});

Deno.test("exeImage of this process finds its executable and a sane layout", () => {
  const img = exeImage();
  assert.ok(img.unmap.length >= 1);
  const [startCode, endCode, , , startBrk, brk] = img.mm;
  assert.ok(startCode! < endCode!);
  assert.ok(startBrk! <= brk!);
});
