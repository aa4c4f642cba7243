/**
 * The preflight that tasks reach the control plane: a one-shot task on every node (on the run's
 * overlay network) dials the control plane's address and port, so "no
 * component ever registers" becomes a named error before any component starts.
 */
import { delay } from "../../delay.ts";
import type { DockerClient } from "../../docker/docker_client.ts";
import {
  createService,
  inspectNode,
  listNodes,
  listTasks,
  nodeAddress,
  type TaskInfo,
  TERMINAL_TASK_STATES,
} from "../../docker/swarm_api.ts";
import { removeServicesAndWait } from "./swarm_removal.ts";

/** The image of the reach check and of overlay probes: it needs busybox's `sh`, `nc`, `wget`. */
export function probeImage(): string {
  return Deno.env.get("FLOWCTL_SWARM_PROBE_IMAGE") || "busybox:latest";
}

export interface ReachCheckOptions {
  name: string;
  networkId: string;
  address: string;
  port: number;
  labels: Record<string, string>;
  signal: AbortSignal;
  registryAuth?: string | undefined;
}

/** What the check found: nodes whose tasks cannot reach it, and nodes where it could not run. */
export interface ReachCheckResult {
  unreachableFrom: string[];
  notChecked: string[];
}

/** How long the check may take: placing and starting a task on a busy node can take a while. */
const CHECK_MS = 60_000;

/** Runs the check on every node and removes it again. */
export async function checkTasksReach(
  docker: DockerClient,
  options: ReachCheckOptions,
): Promise<ReachCheckResult> {
  const image = probeImage();
  const target = `${options.address} ${options.port}`;
  // One task per node that may run tasks: a replicated service spread one per node (a global
  // job would do, but the engine keeps a finished job's containers after the job is removed).
  const nodes = (await listNodes(docker)).filter((n) =>
    n.Status.State === "ready" && (n.Spec?.Availability ?? "active") === "active"
  );
  const id = await createService(docker, {
    Name: options.name,
    Labels: options.labels,
    TaskTemplate: {
      ContainerSpec: {
        Image: image,
        // A few tries: a node's first packets may wait on its neighbours (ARP).
        Command: [
          "/bin/busybox",
          "sh",
          "-c",
          `for i in 1 2 3; do echo | /bin/busybox nc -w 3 ${target} && exit 0; /bin/busybox sleep 1; done; exit 1`,
        ],
        Labels: options.labels,
      },
      RestartPolicy: { Condition: "none" },
      Placement: { MaxReplicas: 1 },
      Networks: [{ Target: options.networkId }],
    },
    Mode: { Replicated: { Replicas: nodes.length } },
  }, { registryAuth: options.registryAuth });
  try {
    const tasks = await settledTasks(docker, id, nodes.length, options.signal);
    const result: ReachCheckResult = { unreachableFrom: [], notChecked: [] };
    for (const task of tasks) {
      const node = await describeNode(docker, task);
      const state = task.Status.State;
      if (state === "complete") continue;
      const exited = task.Status.ContainerStatus?.ExitCode;
      if (state === "failed" && exited !== undefined && exited !== 0) {
        result.unreachableFrom.push(node);
      } else {
        const reason = task.Status.Err ?? task.Status.Message ?? state;
        result.notChecked.push(`${node}: ${reason}`);
      }
    }
    return result;
  } finally {
    await removeServicesAndWait(docker, [id]);
  }
}

/** The job's tasks once each has ended (or as they are after CHECK_MS). */
async function settledTasks(
  docker: DockerClient,
  id: string,
  count: number,
  signal: AbortSignal,
): Promise<TaskInfo[]> {
  const deadline = Date.now() + CHECK_MS;
  while (true) {
    const tasks = await listTasks(docker, id);
    const settled = tasks.length >= count &&
      tasks.every((t) => TERMINAL_TASK_STATES.has(t.Status.State) || rejectedForImage(t));
    if (settled || Date.now() > deadline || signal.aborted) return tasks;
    await delay(100, { signal }).catch(() => {});
  }
}

/** A task that waits for an image its node cannot get (it stays "pending" or "preparing"). */
function rejectedForImage(task: TaskInfo): boolean {
  return /image|pull|manifest/i.test(task.Status.Err ?? "");
}

async function describeNode(docker: DockerClient, task: TaskInfo): Promise<string> {
  const node = task.NodeID ? await inspectNode(docker, task.NodeID) : undefined;
  const name = node?.Description?.Hostname ?? task.NodeID ?? "unknown";
  const address = node ? nodeAddress(node) : undefined;
  return address ? `"${name}" (${address})` : `"${name}"`;
}
