// The /etc files tsbox writes for each container and binds into it, as
// Docker does: hostname, hosts (localhost, the container's own address and
// its network peers) and resolv.conf (the host's, with loopback nameservers,
// which mean nothing inside another network namespace, replaced by public
// ones). See hosts(5), resolv.conf(5).

/** Docker's fallback when the host has only loopback nameservers. */
export const FALLBACK_NAMESERVERS = ["8.8.8.8", "8.8.4.4"];

/**
 * The container's resolv.conf from the host's: loopback nameservers dropped
 * (kept with `hostNetwork`, where loopback is the host's), fallback when none remain.
 */
export function containerResolvConf(host: string, hostNetwork: boolean): string {
  if (hostNetwork) return host;
  const lines = host.split("\n");
  const isLoopback = (ns: string) => /^127\./.test(ns) || ns === "::1" || ns === "0:0:0:0:0:0:0:1";
  const kept = lines.filter((l) => {
    const m = l.trim().match(/^nameserver\s+(\S+)/);
    return !m || !isLoopback(m[1]!);
  });
  const hasNs = kept.some((l) => /^\s*nameserver\s/.test(l));
  const out = kept.filter((l, i) => l !== "" || i < kept.length - 1);
  if (!hasNs) {
    out.push("", "# tsbox: the host's nameservers are on loopback; using public ones");
    for (const ns of FALLBACK_NAMESERVERS) out.push(`nameserver ${ns}`);
  }
  return out.join("\n").replace(/\n*$/, "\n");
}

/** A container's /etc/hosts. `entries` are extra [address, names...] lines (own address, peers). */
export function containerHosts(entries: readonly (readonly string[])[]): string {
  const lines = [
    "127.0.0.1\tlocalhost",
    "::1\tlocalhost ip6-localhost ip6-loopback",
    "fe00::0\tip6-localnet",
    "ff00::0\tip6-mcastprefix",
    "ff02::1\tip6-allnodes",
    "ff02::2\tip6-allrouters",
    ...entries.map((e) => e.join("\t")),
  ];
  return lines.join("\n") + "\n";
}

/** Reads the host's resolv.conf ("" when it has none). */
export function hostResolvConf(): string {
  try {
    return Deno.readTextFileSync("/etc/resolv.conf");
  } catch {
    return "";
  }
}
