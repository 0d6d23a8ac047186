// The one place tsbox calls Deno.dlopen. libc supplies only mmap and mprotect,
// to place tsbox's own machine code (ffi/<arch>/trampoline.S) in an executable
// page; every syscall then goes through that code, which returns -errno in the
// result instead of errno in thread-local storage (see ffi/syscall.ts). The one
// other libc call is malloc_trim, for the long-lived supervisor.
// Opened lazily, on first use, not at import time.

import * as x86_64 from "./x86_64/trampoline.ts";

/** The architectures tsbox has machine code and syscall tables for. */
export const SUPPORTED_ARCHES = ["x86_64"] as const;

/** Throws a clear error on an architecture tsbox does not support yet. */
export function checkArch(): void {
  if (Deno.build.os !== "linux" || Deno.build.arch !== "x86_64") {
    throw new Error(
      `tsbox supports Linux on ${
        SUPPORTED_ARCHES.join(", ")
      } only; this is ${Deno.build.os} on ${Deno.build.arch}`,
    );
  }
}

const PROT_READ = 1, PROT_WRITE = 2, PROT_EXEC = 4;
const MAP_PRIVATE = 2, MAP_ANONYMOUS = 0x20;

interface Machine {
  /** long tsbox_syscall(long nr, long a0, ..., long a5): raw result. */
  syscall: (nr: number, ...args: (number | bigint)[]) => number | bigint;
  /** The same, run on a Deno worker thread so a blocking call does not block JavaScript. */
  syscallAsync: (nr: number, ...args: (number | bigint)[]) => Promise<number | bigint>;
  /** long tsbox_spawn(struct launch *l). */
  spawn: (launch: bigint) => number | bigint;
}

let machine: Machine | undefined;

/** Maps the machine code on first use and returns its entry points. */
export function machineCode(): Machine {
  if (machine) return machine;
  checkArch();
  const libc = Deno.dlopen("libc.so.6", {
    // void *mmap(void *addr, size_t length, int prot, int flags, int fd, off_t offset);
    mmap: { parameters: ["pointer", "usize", "i32", "i32", "i32", "i64"], result: "pointer" },
    // int mprotect(void *addr, size_t len, int prot);
    mprotect: { parameters: ["pointer", "usize", "i32"], result: "i32" },
  });
  const code = x86_64.code;
  const size = Math.ceil(code.length / 4096) * 4096;
  const page = libc.symbols.mmap(
    null,
    BigInt(size),
    PROT_READ | PROT_WRITE,
    MAP_PRIVATE | MAP_ANONYMOUS,
    -1,
    0n,
  );
  if (page === null || Deno.UnsafePointer.value(page) === -1n) {
    throw new Error("mmap of the tsbox trampoline page failed");
  }
  new Uint8Array(new Deno.UnsafePointerView(page).getArrayBuffer(size)).set(code);
  if (libc.symbols.mprotect(page, BigInt(size), PROT_READ | PROT_EXEC) !== 0) {
    throw new Error(
      "mprotect of the tsbox trampoline page failed (is W^X enforced by a security module?)",
    );
  }
  // deno-lint-ignore no-explicit-any
  const at = (off: number) => Deno.UnsafePointer.offset(page, off) as Deno.PointerObject<any>;
  const sysDef = {
    parameters: ["i64", "i64", "i64", "i64", "i64", "i64", "i64"],
    result: "i64",
  } as const;
  const syscall = new Deno.UnsafeFnPointer(at(x86_64.entries.syscall), sysDef);
  const syscallNb = new Deno.UnsafeFnPointer(at(x86_64.entries.syscall), {
    ...sysDef,
    nonblocking: true,
  });
  const spawn = new Deno.UnsafeFnPointer(at(x86_64.entries.spawn), {
    parameters: ["u64"],
    result: "i64",
  });
  const b = (a: (number | bigint)[], i: number) => BigInt(a[i] ?? 0);
  machine = {
    syscall: (nr, ...a) =>
      syscall.call(BigInt(nr), b(a, 0), b(a, 1), b(a, 2), b(a, 3), b(a, 4), b(a, 5)),
    syscallAsync: (nr, ...a) =>
      syscallNb.call(BigInt(nr), b(a, 0), b(a, 1), b(a, 2), b(a, 3), b(a, 4), b(a, 5)),
    spawn: (launch) => spawn.call(launch),
  };
  return machine;
}

let trimmer: { symbols: { malloc_trim: (pad: bigint) => number } } | undefined;

/** malloc_trim(0): gives the C heap's free pages back to the kernel. Returns whether any were. */
export function mallocTrim(): boolean {
  trimmer ??= Deno.dlopen("libc.so.6", {
    // int malloc_trim(size_t pad);
    malloc_trim: { parameters: ["usize"], result: "i32" },
  });
  return trimmer.symbols.malloc_trim(0n) === 1;
}
