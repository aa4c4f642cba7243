/**
 * `flowctl __control-plane`: the control plane process that `flowctl run` starts and supervises
 * (hidden: people never run it themselves). It talks to its parent over stdin and stdout.
 */
import { runControlPlaneChild } from "../controlplane/child_main.ts";
import type { CommandModule } from "./command.ts";

export const controlPlaneChildCommand: CommandModule = {
  help: "flowctl __control-plane: the control plane process of `flowctl run` (internal)",
  run: () => runControlPlaneChild(),
};
