/** Every command, loaded on use. */
import type { Command } from "./command.ts";

export const commands: Command[] = [
  {
    name: "__control-plane",
    summary: "the control plane process of flowctl run",
    hidden: true,
    load: async () => (await import("./control_plane_child.ts")).controlPlaneChildCommand,
  },
  {
    name: "run",
    summary: "Run a pipeline",
    load: async () => (await import("./run.ts")).runCommand,
  },
  {
    name: "status",
    summary: "Show the components of running pipelines",
    load: async () => (await import("./status.ts")).statusCommand,
  },
  {
    name: "restart",
    summary: "Restart components of a running pipeline",
    load: async () => (await import("./restart.ts")).restartCommand,
  },
  {
    name: "stop",
    summary: "Stop components of a running pipeline (they stay stopped)",
    load: async () => (await import("./stop.ts")).stopCommand,
  },
  {
    name: "start",
    summary: "Start components stopped with flowctl stop",
    load: async () => (await import("./start.ts")).startCommand,
  },
  {
    name: "exec",
    summary: "Run a command beside or inside a running component",
    load: async () => (await import("./exec.ts")).execCommand,
  },
  {
    name: "down",
    summary: "Stop a pipeline, or clean up after a killed flowctl",
    load: async () => (await import("./down.ts")).downCommand,
  },
  {
    name: "logs",
    summary: "Show component logs, merged in time order",
    load: async () => (await import("./logs.ts")).logsCommand,
  },
  {
    name: "pull",
    summary: "Fetch the registry components and images of a pipeline into the cache",
    load: async () => (await import("./pull.ts")).pullCommand,
  },
  {
    name: "ui",
    summary: "Print (or open) the dashboard URL of a running pipeline",
    load: async () => (await import("./ui.ts")).uiCommand,
  },
  {
    name: "graph",
    summary: "Print a pipeline's graph (Mermaid, DOT or JSON)",
    load: async () => (await import("./graph.ts")).graphCommand,
  },
  {
    name: "validate",
    summary: "Check a pipeline file",
    load: async () => (await import("./validate.ts")).validateCommand,
  },
  {
    name: "schema",
    summary: "Print the JSON Schema of pipeline files",
    load: async () => (await import("./schema.ts")).schemaCommand,
  },
  {
    name: "__data-path",
    summary: "",
    hidden: true,
    load: async () => (await import("./data_path_command.ts")).dataPathCommand,
  },
  {
    name: "version",
    summary: "Print the flowctl version",
    load: async () => (await import("./version.ts")).versionCommand,
  },
];
