import assert from "node:assert/strict";
import { decodeExpr, decodeExprList, encodeExpr, type Expr } from "./nft_expr.ts";
import { decodeAttrs, nlaNested } from "./message.ts";

const b = (...x: number[]) => Uint8Array.from(x);
const str = (s: string) => [...new TextEncoder().encode(s)];

Deno.test("encodeExpr: cmp neq reg 1 with a 1-byte value", () => {
  const got = encodeExpr({ kind: "cmp", sreg: 1, op: "!=", data: b(6) });
  // deno-fmt-ignore
  const want = b(
    44, 0, 1, 0x80,                           // NFTA_LIST_ELEM
      8, 0, 1, 0, ...str("cmp"), 0,           //   NFTA_EXPR_NAME
      32, 0, 2, 0x80,                         //   NFTA_EXPR_DATA
        8, 0, 1, 0, 0, 0, 0, 1,               //     NFTA_CMP_SREG 1
        8, 0, 2, 0, 0, 0, 0, 1,               //     NFTA_CMP_OP NFT_CMP_NEQ
        12, 0, 3, 0x80, 5, 0, 1, 0, 6, 0, 0, 0, //   NFTA_CMP_DATA { NFTA_DATA_VALUE 06 }
  );
  assert.deepEqual(got, want);
});

Deno.test("encodeExpr: jump verdict carries the chain name", () => {
  const got = encodeExpr({ kind: "verdict", verdict: "jump", chain: "D" });
  // deno-fmt-ignore
  const want = b(
    56, 0, 1, 0x80,                           // NFTA_LIST_ELEM
      14, 0, 1, 0, ...str("immediate"), 0, 0, 0, // NFTA_EXPR_NAME
      36, 0, 2, 0x80,                         //   NFTA_EXPR_DATA
        8, 0, 1, 0, 0, 0, 0, 0,               //     NFTA_IMMEDIATE_DREG = NFT_REG_VERDICT
        24, 0, 2, 0x80,                       //     NFTA_IMMEDIATE_DATA
          20, 0, 2, 0x80,                     //       NFTA_DATA_VERDICT
            8, 0, 1, 0, 0xff, 0xff, 0xff, 0xfd, //       NFTA_VERDICT_CODE NFT_JUMP
            6, 0, 2, 0, ...str("D"), 0, 0, 0, //         NFTA_VERDICT_CHAIN "D"
  );
  assert.deepEqual(got, want);
});

Deno.test("encodeExpr: masq and counter send an empty data nest, as nft does", () => {
  // deno-fmt-ignore
  const masq = b(20, 0, 1, 0x80, 9, 0, 1, 0, ...str("masq"), 0, 0, 0, 0, 4, 0, 2, 0x80);
  // deno-fmt-ignore
  const counter = b(20, 0, 1, 0x80, 12, 0, 1, 0, ...str("counter"), 0, 4, 0, 2, 0x80);
  assert.deepEqual(encodeExpr({ kind: "masq" }), masq);
  assert.deepEqual(encodeExpr({ kind: "counter" }), counter);
});

Deno.test("encodeExpr refuses an unknown expression", () => {
  assert.throws(() => encodeExpr({ kind: "unknown", name: "lookup" }), TypeError);
});

const samples: Expr[] = [
  { kind: "meta", key: 7, dreg: 1 },
  { kind: "cmp", sreg: 1, op: "==", data: b(...str("br0"), 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0) },
  { kind: "payload", base: 1, offset: 12, len: 4, dreg: 1 },
  { kind: "bitwise", sreg: 1, dreg: 1, mask: b(255, 255, 240, 0), xor: b(0, 0, 0, 0) },
  { kind: "immediate", dreg: 2, data: b(0, 80) },
  { kind: "verdict", verdict: "accept" },
  { kind: "verdict", verdict: "goto", chain: "tsbox-c1" },
  { kind: "counter" },
  { kind: "masq" },
  { kind: "nat", type: "dnat", family: 2, addrReg: 1, protoReg: 2, flags: 2 },
  { kind: "nat", type: "snat", family: 2, addrReg: 1, flags: 0 },
  { kind: "fib", flags: 2, result: 3, dreg: 1 },
  { kind: "ct", key: 0, dreg: 1 },
];

Deno.test("decodeExpr inverts encodeExpr for every kind", () => {
  for (const e of samples) {
    const elem = decodeAttrs(encodeExpr(e))[0]!;
    assert.deepEqual(decodeExpr(elem.value), e, e.kind);
  }
});

Deno.test("decodeExprList reads a whole NFTA_RULE_EXPRESSIONS nest in order", () => {
  const list = nlaNested(4, samples.map(encodeExpr));
  const inner = decodeAttrs(list)[0]!.value;
  assert.deepEqual(decodeExprList(inner), samples);
});

Deno.test("decodeExpr names an expression it does not model", () => {
  const elem = b(16, 0, 1, 0x80, 11, 0, 1, 0, ...str("lookup"), 0, 0);
  assert.deepEqual(decodeExpr(decodeAttrs(elem)[0]!.value), { kind: "unknown", name: "lookup" });
});
