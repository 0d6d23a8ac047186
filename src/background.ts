// Work a command starts and must finish before the process exits, without
// waiting for it where it starts (main.ts settles it before Deno.exit): e.g.
// starting a supervisor for a restart that is due, noticed by `ps`.

const pending: Promise<unknown>[] = [];

/** Runs `p` to its end before the process exits; its failure is reported, never thrown. */
export function inBackground(p: Promise<unknown>): void {
  pending.push(
    p.catch((e) => console.error(`tsbox: ${e instanceof Error ? e.message : String(e)}`)),
  );
}

/** Waits for everything started with inBackground. */
export async function settleBackground(): Promise<void> {
  while (pending.length) await Promise.all(pending.splice(0));
}

let wanted = false;

/** Asks for a supervisor to be running when this command ends (a restart is due). */
export function wantSupervisor(): void {
  wanted = true;
}

/** Whether something asked for a supervisor. */
export function supervisorWanted(): boolean {
  return wanted;
}
