/** Every command, loaded on use. */
import type { Command } from "./command.ts";
import { loadLater } from "../load_later.ts";

/** A command's module, kept off the start of every other command (see loadLater). */
const later = <Module>(path: string) => loadLater<Module>(new URL(path, import.meta.url));

export const commands: Command[] = [
  {
    name: "__control-plane",
    summary: "the control plane process of flowctl run",
    hidden: true,
    load: async () =>
      (await later<typeof import("./control_plane_child.ts")>("./control_plane_child.ts"))
        .controlPlaneChildCommand,
  },
  {
    name: "run",
    summary: "Run a pipeline",
    load: async () => (await later<typeof import("./run.ts")>("./run.ts")).runCommand,
  },
  {
    name: "status",
    summary: "Show the components of running pipelines",
    load: async () => (await later<typeof import("./status.ts")>("./status.ts")).statusCommand,
  },
  {
    name: "restart",
    summary: "Restart components of a running pipeline",
    load: async () => (await later<typeof import("./restart.ts")>("./restart.ts")).restartCommand,
  },
  {
    name: "stop",
    summary: "Stop components of a running pipeline (they stay stopped)",
    load: async () => (await later<typeof import("./stop.ts")>("./stop.ts")).stopCommand,
  },
  {
    name: "start",
    summary: "Start components stopped with flowctl stop",
    load: async () => (await later<typeof import("./start.ts")>("./start.ts")).startCommand,
  },
  {
    name: "exec",
    summary: "Run a command beside or inside a running component",
    load: async () => (await later<typeof import("./exec.ts")>("./exec.ts")).execCommand,
  },
  {
    name: "down",
    summary: "Stop a pipeline, or clean up after a killed flowctl",
    load: async () => (await later<typeof import("./down.ts")>("./down.ts")).downCommand,
  },
  {
    name: "logs",
    summary: "Show component logs, merged in time order",
    load: async () => (await later<typeof import("./logs.ts")>("./logs.ts")).logsCommand,
  },
  {
    name: "pull",
    summary: "Fetch the registry components and images of a pipeline into the cache",
    load: async () => (await later<typeof import("./pull.ts")>("./pull.ts")).pullCommand,
  },
  {
    name: "ui",
    summary: "Print (or open) the dashboard URL of a running pipeline",
    load: async () => (await later<typeof import("./ui.ts")>("./ui.ts")).uiCommand,
  },
  {
    name: "graph",
    summary: "Print a pipeline's graph (Mermaid, DOT or JSON)",
    load: async () => (await later<typeof import("./graph.ts")>("./graph.ts")).graphCommand,
  },
  {
    name: "validate",
    summary: "Check a pipeline file",
    load: async () =>
      (await later<typeof import("./validate.ts")>("./validate.ts")).validateCommand,
  },
  {
    name: "schema",
    summary: "Print the JSON Schema of pipeline files",
    load: async () => (await later<typeof import("./schema.ts")>("./schema.ts")).schemaCommand,
  },
  {
    name: "__data-path",
    summary: "",
    hidden: true,
    load: async () =>
      (await later<typeof import("./data_path_command.ts")>("./data_path_command.ts"))
        .dataPathCommand,
  },
  {
    name: "version",
    summary: "Print the flowctl version",
    load: async () => (await later<typeof import("./version.ts")>("./version.ts")).versionCommand,
  },
];
