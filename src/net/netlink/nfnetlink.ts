// The nfnetlink envelope shared by the netfilter families (nftables.ts,
// conntrack.ts) over NETLINK_NETFILTER: struct nfgenmsg after the netlink
// header, message types of (subsystem << 8 | message), and the batch
// delimiters. Pure. See linux/netfilter/nfnetlink.h.
//
//   struct nfgenmsg (4):  0 u8 nfgen_family   1 u8 version (NFNETLINK_V0)   2 be16 res_id

import { u16be } from "./message.ts";

/** nfnetlink subsystem ids (NFNL_SUBSYS_*). */
export const NFNL_SUBSYS = { CTNETLINK: 1, NFTABLES: 10 } as const;
/** Batch delimiters (NFNL_MSG_BATCH_BEGIN / _END, from NLMSG_MIN_TYPE). */
export const NFNL_MSG_BATCH_BEGIN = 0x10;
export const NFNL_MSG_BATCH_END = 0x11;

/** The message type of message `msg` of `subsys`. */
export function nfnlType(subsys: number, msg: number): number {
  return (subsys << 8) | msg;
}

/** Encodes struct nfgenmsg (version 0; `resId` is big-endian, as the kernel reads it). */
export function nfgenmsg(family: number, resId = 0): Uint8Array {
  const b = new Uint8Array(4);
  b[0] = family;
  b.set(u16be(resId), 2);
  return b;
}
