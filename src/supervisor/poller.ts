// One epoll(7) instance for everything the supervisor watches: container
// pidfds (readable when the process exits) and log FIFOs (and an eventfd
// that ends the wait when the loop is stopped, see eventfd(2)). A single call to
// epoll_wait runs on one Deno worker thread, so watching N containers costs
// one thread, not N. See epoll_ctl(2), epoll_wait(2), pidfd_open(2).

import { Errno } from "../../ffi/errno.ts";
import { sys, sysAsync, sysRaw } from "../../ffi/syscall.ts";

const EPOLL_CTL_ADD = 1;
const EPOLL_CTL_DEL = 2;
const EPOLL_CLOEXEC = 0o2000000;
const EFD_CLOEXEC = 0o2000000;
const EFD_NONBLOCK = 0o4000;
/** Readable. */
export const EPOLLIN = 0x001;
/** The other end is gone. */
export const EPOLLHUP = 0x010;
const EVENT_SIZE = 12; // struct epoll_event is packed on x86_64: u32 events, u64 data
const MAX_EVENTS = 64;

/** Called with the ready event mask. */
export type Handler = (events: number) => void;

/** An epoll loop; call `run()` once. */
export class Poller {
  readonly #epfd: number;
  readonly #handlers = new Map<number, Handler>();
  readonly #buf = new Uint8Array(EVENT_SIZE * MAX_EVENTS);
  #stopped = false;
  /** An eventfd in the set: stop() makes it readable, so epoll_wait returns at once. */
  readonly #wake: number;

  constructor() {
    this.#epfd = sys("epoll_create1", [EPOLL_CLOEXEC]);
    this.#wake = sys("eventfd2", [0, EFD_CLOEXEC | EFD_NONBLOCK]);
    this.add(this.#wake, () => {}, EPOLLIN);
  }

  /** Watches `fd` for `events` (EPOLLIN by default). */
  add(fd: number, handler: Handler, events = EPOLLIN): void {
    const ev = new Uint8Array(EVENT_SIZE);
    const dv = new DataView(ev.buffer);
    dv.setUint32(0, events, true);
    dv.setBigUint64(4, BigInt(fd), true);
    sys("epoll_ctl", [this.#epfd, EPOLL_CTL_ADD, fd, ev], `add fd ${fd}`);
    this.#handlers.set(fd, handler);
  }

  /** Stops watching `fd` (closing it is the caller's). */
  remove(fd: number): void {
    if (!this.#handlers.delete(fd)) return;
    sysRaw("epoll_ctl", [this.#epfd, EPOLL_CTL_DEL, fd, null]);
  }

  /** When events were last dispatched (ms since the epoch). */
  lastEvent = 0;

  /** Number of watched fds (the wake-up eventfd not counted). */
  get size(): number {
    return this.#handlers.size - 1;
  }

  /** Dispatches events until `stop()`. */
  async run(): Promise<void> {
    const dv = new DataView(this.#buf.buffer);
    while (!this.#stopped) {
      let n: number;
      try {
        // A timeout lets the loop notice stop() and fds added meanwhile.
        n = await sysAsync("epoll_wait", [this.#epfd, this.#buf, MAX_EVENTS, 1000]);
      } catch (e) {
        if ((e as { errno?: number }).errno === Errno.EINTR) continue;
        throw e;
      }
      if (n > 0) this.lastEvent = Date.now();
      for (let i = 0; i < n; i++) {
        const events = dv.getUint32(i * EVENT_SIZE, true);
        const fd = Number(dv.getBigUint64(i * EVENT_SIZE + 4, true));
        const h = this.#handlers.get(fd);
        if (h) {
          try {
            h(events);
          } catch (e) {
            try {
              console.error(
                `tsbox supervisor: handler for fd ${fd}: ${e instanceof Error ? e.message : e}`,
              );
            } catch { /* supervisor.log on a full disk: the loop goes on */ }
          }
        }
      }
    }
  }

  /** Ends run() at once. */
  stop(): void {
    this.#stopped = true;
    sysRaw("write", [this.#wake, new BigUint64Array([1n]), 8]);
  }
}
