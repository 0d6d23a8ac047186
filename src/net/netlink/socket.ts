// A netlink socket: socket(AF_NETLINK, SOCK_RAW|SOCK_CLOEXEC, protocol),
// bound to a kernel-assigned port id, optionally created inside another
// network namespace. It knows only framing: sequence numbers, requests that
// wait for their ACK or NLMSG_ERROR (with extended-ACK text), multipart dumps
// ended by NLMSG_DONE, and several messages in one sendto (nfnetlink batches).
// Protocol families (route.ts, nftables.ts, conntrack.ts) build the payloads.
// Calls are synchronous: the kernel answers a netlink request while handling
// the sendto, so the reply is queued before recvfrom is called.
// See netlink(7), linux/netlink.h.

import {
  AF_NETLINK,
  MSG_PEEK,
  MSG_TRUNC,
  NETLINK_CAP_ACK,
  NETLINK_EXT_ACK,
  SO_RCVTIMEO,
  SOCK_CLOEXEC,
  SOCK_RAW,
  SOL_NETLINK,
  SOL_SOCKET,
} from "../../../ffi/constants.ts";
import { Errno } from "../../../ffi/errno.ts";
import { sys, SyscallError, sysRaw } from "../../../ffi/syscall.ts";
import { TsboxError } from "../../errors.ts";
import {
  concat,
  decodeDone,
  decodeError,
  decodeMessages,
  encodeMessage,
  type Message,
  NLM_F,
  NLMSG,
} from "./message.ts";
import { withNetns } from "./netns.ts";

/** A failed netlink request: `netlink RTM_NEWLINK "veth1": EEXIST (File exists)`. */
export class NetlinkError extends SyscallError {
  /** What the request was, e.g. `RTM_NEWLINK "veth1"`. */
  readonly request: string;
  /** The kernel's extended-ACK text, e.g. "Unknown device type", if any. */
  readonly kernelMessage: string | undefined;

  constructor(errno: number, request: string, kernelMessage?: string) {
    super("netlink", errno, request);
    this.request = request;
    this.kernelMessage = kernelMessage;
    if (kernelMessage) this.message += ` (kernel: ${kernelMessage})`;
  }
}

/** One request to send. */
export interface Request {
  /** Message type, e.g. RTM_NEWLINK. */
  type: number;
  /** Flags besides NLM_F_REQUEST (and NLM_F_ACK / NLM_F_DUMP, which the method adds). */
  flags?: number;
  /** Family header and attributes. */
  payload: Uint8Array;
  /** What it is, for error messages: `RTM_NEWLINK "veth1"`. */
  describe: string;
}

/** Options of `NetlinkSocket.open`. */
export interface OpenOptions {
  /** An fd of a network namespace (/run/netns/NAME, /proc/PID/ns/net) to create the socket in. */
  netns?: number;
  /** How long to wait for an answer before giving up (default 5000 ms). */
  timeoutMs?: number;
  /** Initial receive buffer (default 64 KiB); it grows when a datagram is larger. */
  bufferSize?: number;
}

const SOCKADDR_NL_SIZE = 12;
const RECV_BUFFER = 64 * 1024;
const DUMP_RETRIES = 5;

/** struct sockaddr_nl { sa_family_t nl_family; u16 nl_pad; u32 nl_pid; u32 nl_groups; } */
function sockaddrNl(pid = 0, groups = 0): Uint8Array {
  const b = new Uint8Array(SOCKADDR_NL_SIZE);
  const v = new DataView(b.buffer);
  v.setUint16(0, AF_NETLINK, true);
  v.setUint32(4, pid, true);
  v.setUint32(8, groups, true);
  return b;
}

/**
 * A netlink socket of one protocol (NETLINK_ROUTE, NETLINK_NETFILTER, ...).
 * Requires CAP_NET_ADMIN for requests that change state, and CAP_SYS_ADMIN
 * for `netns`. Close it with `close()` (or `using`).
 *
 * @example
 * using sock = NetlinkSocket.open(NETLINK_ROUTE, { netns: fd });
 * sock.request({ type: RTM_DELLINK, payload, describe: 'RTM_DELLINK "veth1"' });
 */
export class NetlinkSocket {
  /** The socket's fd. */
  readonly fd: number;
  /** The port id the kernel assigned at bind (nl_pid). */
  readonly portId: number;
  #seq: number;
  #buf: Uint8Array;
  #closed = false;

  private constructor(fd: number, portId: number, bufferSize: number) {
    this.fd = fd;
    this.portId = portId;
    this.#buf = new Uint8Array(bufferSize);
    this.#seq = (Date.now() & 0x3fffffff) >>> 0;
  }

  /**
   * Creates a socket of `protocol`, inside the network namespace `opts.netns`
   * if given; the socket stays bound to the namespace it was created in.
   */
  static open(protocol: number, opts: OpenOptions = {}): NetlinkSocket {
    const create = () =>
      sys(
        "socket",
        [AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, protocol],
        `AF_NETLINK protocol ${protocol}`,
      );
    const fd = opts.netns === undefined ? create() : withNetns(opts.netns, create);
    try {
      const one = new Int32Array([1]);
      sys("setsockopt", [fd, SOL_NETLINK, NETLINK_EXT_ACK, one, 4], "NETLINK_EXT_ACK");
      sys("setsockopt", [fd, SOL_NETLINK, NETLINK_CAP_ACK, one, 4], "NETLINK_CAP_ACK");
      const ms = opts.timeoutMs ?? 5000;
      const tv = new BigInt64Array([BigInt(Math.floor(ms / 1000)), BigInt((ms % 1000) * 1000)]);
      sys("setsockopt", [fd, SOL_SOCKET, SO_RCVTIMEO, tv, 16], "SO_RCVTIMEO");
      sys("bind", [fd, sockaddrNl(), SOCKADDR_NL_SIZE], `fd ${fd} AF_NETLINK`);
      const sa = new Uint8Array(SOCKADDR_NL_SIZE);
      const len = new Int32Array([SOCKADDR_NL_SIZE]);
      sys("getsockname", [fd, sa, len], `fd ${fd}`);
      const portId = new DataView(sa.buffer).getUint32(4, true);
      return new NetlinkSocket(fd, portId, opts.bufferSize ?? RECV_BUFFER);
    } catch (e) {
      sysRaw("close", [fd]);
      throw e;
    }
  }

  /** Closes the socket (idempotent). */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    sys("close", [this.fd], `fd ${this.fd}`);
  }

  [Symbol.dispose](): void {
    this.close();
  }

  /** The next sequence number. */
  nextSeq(): number {
    this.#seq = (this.#seq + 1) >>> 0;
    return this.#seq;
  }

  /**
   * Sends `req` with NLM_F_REQUEST|NLM_F_ACK and waits for the ACK. Returns the
   * replies that came before it (a GET answers with its object, then the ACK).
   * Throws NetlinkError on NLMSG_ERROR.
   */
  request(req: Request): Message[] {
    const seq = this.nextSeq();
    const flags = NLM_F.REQUEST | NLM_F.ACK | (req.flags ?? 0);
    this.#send(encodeMessage({ type: req.type, flags, seq, pid: 0 }, req.payload), req.describe);
    const replies: Message[] = [];
    for (;;) {
      for (const m of this.#receive(req.describe)) {
        if (m.seq !== seq) continue; // an answer to an earlier, abandoned request
        if (m.type === NLMSG.ERROR) {
          const e = decodeError(m.payload, m.flags);
          if (e.errno === 0) return replies;
          throw new NetlinkError(e.errno, req.describe, e.message);
        }
        if (m.type !== NLMSG.NOOP && m.type !== NLMSG.DONE) replies.push(m);
      }
    }
  }

  /**
   * Sends `req` with NLM_F_REQUEST|NLM_F_DUMP and collects every message up to
   * NLMSG_DONE. A dump the kernel marks inconsistent (NLM_F_DUMP_INTR, the
   * table changed meanwhile) is retried.
   */
  dump(req: Request): Message[] {
    for (let attempt = 1;; attempt++) {
      const { messages, interrupted } = this.#dumpOnce(req);
      if (!interrupted) return messages;
      if (attempt >= DUMP_RETRIES) throw new NetlinkError(Errno.EINTR, req.describe);
    }
  }

  #dumpOnce(req: Request): { messages: Message[]; interrupted: boolean } {
    const seq = this.nextSeq();
    const flags = NLM_F.REQUEST | NLM_F.DUMP | (req.flags ?? 0);
    this.#send(encodeMessage({ type: req.type, flags, seq, pid: 0 }, req.payload), req.describe);
    const messages: Message[] = [];
    let interrupted = false;
    for (;;) {
      for (const m of this.#receive(req.describe)) {
        if (m.seq !== seq) continue;
        if (m.flags & NLM_F.DUMP_INTR) interrupted = true;
        if (m.type === NLMSG.ERROR) {
          const e = decodeError(m.payload, m.flags);
          if (e.errno === 0) return { messages, interrupted };
          throw new NetlinkError(e.errno, req.describe, e.message);
        }
        if (m.type === NLMSG.DONE) {
          const err = decodeDone(m.payload);
          if (err < 0) throw new NetlinkError(-err, req.describe);
          return { messages, interrupted };
        }
        if (m.type !== NLMSG.NOOP) messages.push(m);
      }
    }
  }

  /**
   * Sends every request in one sendto (an nfnetlink batch is framed by its
   * caller) and waits for one answer per request that has NLM_F_ACK in its
   * flags. The first NLMSG_ERROR, for any of them, is thrown, with that
   * request's description.
   */
  transact(reqs: readonly Request[]): void {
    const bySeq = new Map<number, Request>();
    const pending = new Set<number>();
    const bytes: Uint8Array[] = [];
    for (const r of reqs) {
      const seq = this.nextSeq();
      const flags = NLM_F.REQUEST | (r.flags ?? 0);
      bySeq.set(seq, r);
      if (flags & NLM_F.ACK) pending.add(seq);
      bytes.push(encodeMessage({ type: r.type, flags, seq, pid: 0 }, r.payload));
    }
    const what = `batch of ${reqs.length} messages`;
    this.#send(concat(bytes), what);
    while (pending.size > 0) {
      for (const m of this.#receive(what)) {
        const r = bySeq.get(m.seq);
        if (!r || m.type !== NLMSG.ERROR) continue;
        const e = decodeError(m.payload, m.flags);
        if (e.errno !== 0) throw new NetlinkError(e.errno, r.describe, e.message);
        pending.delete(m.seq);
      }
    }
  }

  #send(bytes: Uint8Array, what: string): void {
    // A closed fd number may already belong to another file: never use it.
    if (this.#closed) throw new TsboxError(`send netlink ${what}: the socket is closed`);
    const n = sys(
      "sendto",
      [this.fd, bytes, bytes.length, 0, sockaddrNl(), SOCKADDR_NL_SIZE],
      `netlink ${what}`,
    );
    if (n !== bytes.length) {
      throw new TsboxError(`send netlink ${what}: sent ${n} of ${bytes.length} bytes`);
    }
  }

  /** Receives one datagram from the kernel (others are dropped) and splits it into messages. */
  #receive(what: string): Message[] {
    const from = new Uint8Array(SOCKADDR_NL_SIZE);
    const fromLen = new Int32Array(1);
    for (;;) {
      // Peek first, so a datagram larger than the buffer grows it instead of being cut.
      const size = this.#recv(MSG_PEEK | MSG_TRUNC, null, null, what);
      if (size > this.#buf.length) this.#buf = new Uint8Array(Math.ceil(size / 4096) * 4096);
      fromLen[0] = SOCKADDR_NL_SIZE;
      const n = this.#recv(MSG_TRUNC, from, fromLen, what);
      if (n > this.#buf.length) {
        throw new TsboxError(`receive netlink ${what}: reply truncated (${n} bytes)`);
      }
      if (new DataView(from.buffer).getUint32(4, true) !== 0) continue; // not from the kernel
      return decodeMessages(this.#buf.slice(0, n));
    }
  }

  #recv(
    flags: number,
    from: Uint8Array | null,
    fromLen: Int32Array | null,
    what: string,
  ): number {
    for (;;) {
      const args = [this.fd, this.#buf, this.#buf.length, flags, from, fromLen] as const;
      const r = sysRaw("recvfrom", args);
      if (r >= 0) return r;
      if (-r === Errno.EINTR) continue;
      if (-r === Errno.EAGAIN) {
        throw new TsboxError(`receive netlink ${what}: no answer from the kernel`);
      }
      throw new SyscallError("recvfrom", -r, `netlink ${what}`);
    }
  }
}
