// tsbox supervise (hidden): the supervisor process, started by `run -d`.

/** Entry point of `tsbox supervise`. */
export async function main(_args: string[]): Promise<number> {
  const { supervise } = await import("../../supervisor/daemon.ts");
  return await supervise();
}
