// A small CRI client for the tests: unary gRPC calls (npm @grpc/grpc-js) to
// containerd's CRI plugin over its unix socket, with the messages of
// proto.ts. Each method names the RPC of runtime.v1.RuntimeService it makes.

import * as grpc from "npm:@grpc/grpc-js@1.14.7";
import { Buffer } from "node:buffer";
import { Decoded, encode, type Message } from "./proto.ts";

/** A CRI runtime service client on `socket`. */
export class CriClient {
  readonly #client: grpc.Client;

  constructor(socket: string) {
    this.#client = new grpc.Client(`unix://${socket}`, grpc.credentials.createInsecure());
  }

  /** One unary call of runtime.v1.RuntimeService (or `service`); rejects with the gRPC status. */
  call(
    method: string,
    req: Message,
    timeoutMs = 60_000,
    service = "RuntimeService",
  ): Promise<Decoded> {
    return new Promise((resolve, reject) => {
      this.#client.makeUnaryRequest(
        `/runtime.v1.${service}/${method}`,
        (m: Message) => Buffer.from(encode(m)),
        (b: Buffer) => new Decoded(new Uint8Array(b)),
        req,
        new grpc.Metadata(),
        { deadline: Date.now() + timeoutMs },
        (err: grpc.ServiceError | null, res?: Decoded) => {
          if (err) reject(new Error(`CRI ${method}: ${err.details || err.message}`));
          else resolve(res!);
        },
      );
    });
  }

  /** Version: the runtime's name and version. */
  async version(): Promise<{ runtimeName: string; runtimeVersion: string }> {
    const r = await this.call("Version", { 1: "v1" });
    return { runtimeName: r.str(2), runtimeVersion: r.str(3) };
  }

  /** RunPodSandbox with `config` (a PodSandboxConfig) on runtime handler `handler`; returns its id. */
  async runPodSandbox(config: Message, handler: string): Promise<string> {
    return (await this.call("RunPodSandbox", { 1: config, 2: handler })).str(1);
  }

  /** PodSandboxStatus: its state (0 ready) and IP. */
  async podSandboxStatus(id: string): Promise<{ state: number; ip: string }> {
    const s = (await this.call("PodSandboxStatus", { 1: id })).msg(1);
    return { state: Number(s.int(3)), ip: s.msg(5).str(1) };
  }

  /** CreateContainer in pod `podId`; returns the container's id. */
  async createContainer(podId: string, config: Message, sandboxConfig: Message): Promise<string> {
    return (await this.call("CreateContainer", { 1: podId, 2: config, 3: sandboxConfig })).str(1);
  }

  /** StartContainer. */
  async startContainer(id: string): Promise<void> {
    await this.call("StartContainer", { 1: id });
  }

  /** ContainerStatus: its state (0 created, 1 running, 2 exited) and exit code. */
  async containerStatus(id: string): Promise<{ state: number; exitCode: number }> {
    const s = (await this.call("ContainerStatus", { 1: id })).msg(1);
    return { state: Number(s.int(3)), exitCode: Number(BigInt.asIntN(32, s.int(7))) };
  }

  /** ExecSync: runs `cmd` in the container; its output and exit code. */
  async execSync(
    id: string,
    cmd: string[],
    timeoutS = 30,
  ): Promise<{ stdout: string; stderr: string; exitCode: number }> {
    const r = await this.call("ExecSync", { 1: id, 2: cmd, 3: timeoutS }, (timeoutS + 30) * 1000);
    const dec = new TextDecoder();
    return {
      stdout: dec.decode(r.bytes(1)),
      stderr: dec.decode(r.bytes(2)),
      exitCode: Number(BigInt.asIntN(32, r.int(3))),
    };
  }

  /** ContainerStats: cumulative CPU time (ns) and working set (bytes). */
  async containerStats(id: string): Promise<{ cpuNs: bigint; workingSet: bigint; id: string }> {
    const s = (await this.call("ContainerStats", { 1: id })).msg(1);
    return {
      id: s.msg(1).str(1),
      cpuNs: s.msg(2).msg(2).int(1),
      workingSet: s.msg(3).msg(2).int(1),
    };
  }

  /** StopContainer with a grace period in seconds. */
  async stopContainer(id: string, timeoutS: number): Promise<void> {
    await this.call("StopContainer", { 1: id, 2: timeoutS });
  }

  /** RemoveContainer. */
  async removeContainer(id: string): Promise<void> {
    await this.call("RemoveContainer", { 1: id });
  }

  /** StopPodSandbox. */
  async stopPodSandbox(id: string): Promise<void> {
    await this.call("StopPodSandbox", { 1: id });
  }

  /** RemovePodSandbox. */
  async removePodSandbox(id: string): Promise<void> {
    await this.call("RemovePodSandbox", { 1: id });
  }

  /** ListPodSandbox: every pod's id. */
  async listPodSandbox(): Promise<string[]> {
    return (await this.call("ListPodSandbox", {})).msgs(1).map((p) => p.str(1));
  }

  close(): void {
    this.#client.close();
  }
}
